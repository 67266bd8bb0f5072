#include "secret.hpp"

#include <openssl/crypto.h>

namespace dfmcp {

std::string Secret::display_key() const {
  constexpr std::string_view prefix = "dft_";
  if (value_.size() < prefix.size() + 3 + 4 || value_.compare(0, prefix.size(), prefix) != 0)
    return "(not a dft_ token)";
  return std::string(prefix) + value_.substr(prefix.size(), 3) + "..." +
         value_.substr(value_.size() - 4);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool display_key_matches(std::string_view display, const Secret &token) {
  const std::string &t = token.reveal();
  constexpr std::string_view prefix = "dft_";
  if (t.size() < prefix.size() + 3 + 4 || !display.starts_with(prefix) || !t.starts_with(prefix))
    return false;
  std::string_view rest = display.substr(prefix.size());
  if (rest.size() < 3 + 4 || rest.substr(0, 3) != std::string_view(t).substr(prefix.size(), 3) ||
      rest.substr(rest.size() - 4) != std::string_view(t).substr(t.size() - 4))
    return false;
  std::string_view middle = rest.substr(3, rest.size() - 7);
  return middle == "..." || middle == "\xE2\x80\xA6"; // "..." or U+2026
}

bool display_key_well_formed(std::string_view display) {
  if (!display.starts_with("dft_"))
    return false;
  std::string_view rest = display.substr(4);
  if (rest.size() < 7)
    return false;
  std::string_view middle = rest.substr(3, rest.size() - 7);
  return middle == "..." || middle == "\xE2\x80\xA6";
}

std::string scrub_secrets(std::string_view text) {
  auto is_key_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0; // text[0, copied) is in out
  // Both prefixes begin with "df": only there can a key start (this runs on every log line).
  for (std::size_t i = text.find("df"); i != std::string_view::npos; i = text.find("df", i)) {
    std::size_t prefix_len = 0;
    if (text.compare(i, 4, "dft_") == 0)
      prefix_len = 4;
    else if (text.compare(i, 3, "df_") == 0)
      prefix_len = 3;
    std::size_t j = i + prefix_len;
    while (prefix_len != 0 && j < text.size() && is_key_char(text[j]))
      ++j;
    // Six or more key characters: a key, not a displayKey (dft_ab1...) or the bare word "dft_".
    if (prefix_len != 0 && j - (i + prefix_len) >= 6) {
      out.append(text.substr(copied, i + prefix_len - copied));
      out.append("[redacted]");
      i = copied = j;
      continue;
    }
    ++i;
  }
  out.append(text.substr(copied));
  return out;
}

} // namespace dfmcp
