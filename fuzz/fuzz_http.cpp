// libFuzzer entry point; the body is dfmcp::fuzz::http_request in targets.cpp.
#include "fuzz/targets.hpp"
#include "log.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  dfmcp::log::init(spdlog::level::off); // logs would dominate the time of every run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  dfmcp::fuzz::http_request(std::string_view(reinterpret_cast<const char *>(data), size));
  return 0;
}
