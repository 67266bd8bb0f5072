#include "secret.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <sstream>
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

TEST_CASE("constant_time_equal compares bytes and lengths") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

}
