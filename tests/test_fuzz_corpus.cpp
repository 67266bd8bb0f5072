// Replays every seed of the fuzz corpora and every input a fuzzer ever crashed on
// (tests/fuzz_regressions/<target>/) through the fuzz targets' bodies, in every build, so a
// fixed crash stays fixed without clang.
#include "fuzz/targets.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::size_t replay(const std::string &target, void (*body)(std::string_view)) {
  std::size_t n = 0;
  for (const char *root : {"/fuzz/corpus/", "/tests/fuzz_regressions/"}) {
    std::filesystem::path dir = std::string(DFMCP_SOURCE_DIR) + root + target;
    if (!std::filesystem::exists(dir))
      continue;
    for (const auto &entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      CAPTURE(entry.path().string());
      body(s.str());
      ++n;
    }
  }
  return n;
}

} // namespace

TEST_SUITE("fuzz-corpus") {

TEST_CASE("the session target's corpus and regressions replay cleanly") { CHECK(replay("session", dfmcp::fuzz::session) > 5); }
TEST_CASE("the config target's corpus and regressions replay cleanly") { CHECK(replay("config", dfmcp::fuzz::config) > 3); }
TEST_CASE("the upstream target's corpus and regressions replay cleanly") { CHECK(replay("upstream", dfmcp::fuzz::upstream) > 3); }
TEST_CASE("the http target's corpus and regressions replay cleanly") { CHECK(replay("http", dfmcp::fuzz::http_request) > 3); }

}
