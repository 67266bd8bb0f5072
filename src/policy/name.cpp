#include "policy/name.hpp"

#include <cstdint>
#include <cstdio>

namespace dfmcp::policy {

namespace {

// Decodes one UTF-8 code point at `i`; returns false on malformed input.
bool decode(std::string_view s, std::size_t &i, std::uint32_t &cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  int extra = 0;
  if (b < 0x80) {
    cp = b;
  } else if ((b & 0xE0) == 0xC0) {
    cp = b & 0x1F, extra = 1;
  } else if ((b & 0xF0) == 0xE0) {
    cp = b & 0x0F, extra = 2;
  } else if ((b & 0xF8) == 0xF0) {
    cp = b & 0x07, extra = 3;
  } else {
    return false;
  }
  for (int k = 1; k <= extra; ++k) {
    if (i + static_cast<std::size_t>(k) >= s.size())
      return false;
    unsigned char c = byte(i + static_cast<std::size_t>(k));
    if ((c & 0xC0) != 0x80)
      return false;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  i += static_cast<std::size_t>(extra) + 1;
  return true;
}

bool is_control(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
         cp == 0x200F || cp == 0xFEFF;
}

bool is_blank(std::uint32_t cp) {
  return cp == ' ' || cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200B);
}

std::string code(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

} // namespace

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty())
    return "empty; give a label of 1 to " + std::to_string(kMaxNameLength) + " characters";
  std::size_t count = 0;
  bool blank = true;
  for (std::size_t i = 0; i < name.size();) {
    std::uint32_t cp = 0;
    if (!decode(name, i, cp))
      return "not valid UTF-8 at byte " + std::to_string(i);
    ++count;
    if (is_control(cp))
      return "contains the control character " + code(cp) + " at character " +
             std::to_string(count) + "; control characters are not allowed";
    if (!is_blank(cp))
      blank = false;
  }
  if (count > kMaxNameLength)
    return std::to_string(count) + " characters long; at most " + std::to_string(kMaxNameLength) +
           " are allowed";
  if (blank)
    return "only blanks; give a label that says who or what the token is for";
  return std::nullopt;
}

} // namespace dfmcp::policy
