#include "secret.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

using namespace dfmcp;

namespace {
// Secret must not be printable: no operator<< exists for it.
template <typename T, typename = void> struct Streamable : std::false_type {};
template <typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream &>() << std::declval<T>())>>
    : std::true_type {};
} // namespace

TEST_SUITE("secret") {

TEST_CASE("a Secret cannot be streamed or formatted (so it cannot be logged)") {
  static_assert(!Streamable<Secret>::value);
  static_assert(!fmt::is_formattable<Secret>::value);
}

TEST_CASE("displayKey is dft_ + the next 3 characters + ... + the last 4") {
  Secret s("dft_ab1cdefghijklmnopxyz9");
  CHECK(s.display_key() == "dft_ab1...xyz9");
  CHECK(display_key_matches("dft_ab1...xyz9", s));
  CHECK(display_key_matches("dft_ab1\xE2\x80\xA6xyz9", s));
  CHECK_FALSE(display_key_matches("dft_ab2...xyz9", s));
  CHECK_FALSE(display_key_matches("dft_ab1...xyz8", s));
  CHECK_FALSE(display_key_matches("dft_ab1..xyz9", s));
  CHECK_FALSE(display_key_matches("", s));
}

TEST_CASE("a moved-from Secret is empty") {
  Secret a("dft_secretvalue1234");
  Secret b(std::move(a));
  CHECK(a.empty()); // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(b.reveal() == "dft_secretvalue1234");
}

TEST_CASE("scrub_secrets redacts dft_ and df_ keys but keeps displayKeys") {
  CHECK(scrub_secrets("Bearer dft_abcdefghij1234 rejected") == "Bearer dft_[redacted] rejected");
  CHECK(scrub_secrets("key df_0123456789abcdef") == "key df_[redacted]");
  CHECK(scrub_secrets("token dft_ab1...xyz9 ok") == "token dft_ab1...xyz9 ok");
  CHECK(scrub_secrets("the dft_ prefix") == "the dft_ prefix");
  CHECK(scrub_secrets("token=dft_abcdefghij") == "token=dft_[redacted]");
  CHECK(scrub_secrets("xdft_abcdefghij") == "xdft_[redacted]"); // glued to other text too
}

// The rule, spelled out one position at a time: scrub_secrets must give the same answer.
std::string scrub_reference(std::string_view text) {
  auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t p = text.substr(i).starts_with("dft_") ? 4 : text.substr(i).starts_with("df_") ? 3 : 0;
    std::size_t j = i + p;
    while (p && j < text.size() && key_char(text[j]))
      ++j;
    if (p && j - i - p >= 6) {
      out += std::string(text.substr(i, p)) + "[redacted]";
      i = j;
    } else {
      out += text[i++];
    }
  }
  return out;
}

TEST_CASE("scrub_secrets agrees with the rule on generated text (prefixes glued, repeated, cut short)") {
  const std::string_view pieces[] = {"dft_", "df_", "df", "d", "f", "t_", "_", "-", "abc123", "Z", " ", ".",
                                     "...", "\n", "dfdft_", "\xE2\x80\xA6", "0123456789", "=", "\""};
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    int parts = static_cast<int>(next() >> 28);
    for (int k = 0; k < parts; ++k)
      text += pieces[(next() >> 16) % std::size(pieces)];
    REQUIRE_MESSAGE(scrub_secrets(text) == scrub_reference(text), text);
  }
}

TEST_CASE("constant_time_equal compares bytes and lengths") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

}
