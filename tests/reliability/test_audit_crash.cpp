// kill -9 while the audit log is being written: verify reports at most an incomplete last line,
// and the chain resumes at the next start.
#include "support/process.hpp"
#include "util/json_input.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace dfmcp;
using namespace dfmcp::test;

TEST_SUITE("audit-crash") {

TEST_CASE("kill -9 during audit writes loses at most the last line - the chain resumes") {
  TempDir dir;
  std::string audit = dir.path() + "/audit.jsonl";
  std::vector<std::string> args = {DFMCP_BINARY, "--sandbox", "--permissions", "*", "--websites", "*",
                                   "--audit-file", audit, "--log-level", "error"};
  int incomplete = 0;
  for (int round = 0; round < 12; ++round) {
    auto child = Child::spawn(args, {});
    child->write_line(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
    REQUIRE(child->read_line().has_value());
    // A burst of calls, each an audit line; the kill lands somewhere inside it.
    std::string burst;
    for (int i = 1; i <= 200; ++i)
      burst += R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
               R"(,"method":"tools/call","params":{"name":"get_token_ceiling","arguments":{}}})" + "\n";
    child->write(burst);
    for (int i = 0; i < 10 + round * 15; ++i)
      REQUIRE(child->read_line().has_value());
    child->signal(SIGKILL);
    child->wait();
    RunResult verify = run({DFMCP_BINARY, "audit", "verify", audit}, {});
    CAPTURE(verify.out);
    CHECK((verify.code == 0 || verify.code == 3));
    incomplete += verify.code == 3;
  }
  // One more start repairs whatever the last kill left, and the chain is whole.
  auto child = Child::spawn(args, {});
  child->close_stdin();
  CHECK(child->wait() == 0);
  RunResult verify = run({DFMCP_BINARY, "audit", "verify", audit}, {});
  CHECK(verify.code == 0);
  MESSAGE("12 kills: " << incomplete << " left an incomplete last line; " << verify.out);
}

}
