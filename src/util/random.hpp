// Cryptographically secure random strings (OpenSSL's RAND_bytes).
#pragma once

#include <cstddef>
#include <string>

namespace dfmcp {

std::string random_hex(std::size_t bytes);       // 2 * bytes lowercase hex digits
std::string random_alnum(std::size_t length);    // [A-Za-z0-9], unbiased

} // namespace dfmcp
