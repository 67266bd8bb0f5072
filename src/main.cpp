#include "app.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

int main(int argc, char **argv) {
  try {
    return dfmcp::run_app(argc, argv);
  } catch (const std::exception &e) {
    // Start-up failures (a sandbox that cannot bind, OpenSSL errors); never a secret in what().
    std::fprintf(stderr, "datafast-mcp: fatal: %s\n", e.what());
    return 1;
  }
}
