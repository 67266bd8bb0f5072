#include "util/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace dfmcp {

namespace {
void fill(unsigned char *buf, std::size_t n) {
  if (RAND_bytes(buf, static_cast<int>(n)) != 1)
    throw std::runtime_error("the system's random number generator failed");
}
} // namespace

std::string random_hex(std::size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::vector<unsigned char> buf(bytes);
  fill(buf.data(), buf.size());
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buf) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

std::string random_alnum(std::size_t length) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  unsigned char buf[64];
  while (out.size() < length) {
    fill(buf, sizeof buf);
    for (unsigned char b : buf) {
      if (b >= 248) // 248 = 4 * 62: reject to keep the draw unbiased
        continue;
      out.push_back(kAlphabet[b % 62]);
      if (out.size() == length)
        break;
    }
  }
  return out;
}

} // namespace dfmcp
