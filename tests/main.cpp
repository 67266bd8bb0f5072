#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "log.hpp"

#include <csignal>

int main(int argc, char **argv) {
  // Logs go to stderr, as in the server; quiet unless a test raises the level.
  dfmcp::log::init(spdlog::level::off);
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
