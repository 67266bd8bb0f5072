#include "support/rpc.hpp"
#include "transport/stdio.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <future>
#include <set>
#include <sstream>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

// Runs run_stdio on a thread with pipes; feeds `input`, then closes stdin (unless told to keep
// it open) and returns every output line.
struct StdioRun {
  Harness harness{make_test_ceiling({"*"}, std::nullopt)};
  int in[2]{}, out[2]{};
  std::future<int> exit_code;
  std::future<std::string> output;

  explicit StdioRun(int signal_fd = -1) {
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    transport::StdioOptions o;
    o.in_fd = in[0];
    o.out_fd = out[1];
    o.signal_fd = signal_fd;
    exit_code = std::async(std::launch::async, [this, o] {
      int code = transport::run_stdio(*harness.server, o);
      close(out[1]);
      return code;
    });
    output = std::async(std::launch::async, [this] {
      std::string all;
      char buf[65536];
      ssize_t n;
      while ((n = read(out[0], buf, sizeof buf)) > 0)
        all.append(buf, static_cast<std::size_t>(n));
      return all;
    });
  }
  ~StdioRun() {
    if (in[1] >= 0)
      close(in[1]); // ends the loop if it still runs
    if (exit_code.valid())
      exit_code.wait();
    if (output.valid())
      output.wait();
    close(in[0]);
    close(out[0]);
  }
  void feed(std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(in[1], bytes.data() + done, bytes.size() - done);
      REQUIRE(n > 0);
      done += static_cast<std::size_t>(n);
    }
  }
  void end_input() {
    close(in[1]);
    in[1] = -1;
  }
  std::vector<json> finish() {
    end_input();
    CHECK(exit_code.get() == 0);
    std::vector<json> lines;
    std::istringstream s(output.get());
    for (std::string line; std::getline(s, line);)
      lines.push_back(json::parse(line)); // every line of stdout is one JSON message
    return lines;
  }
};

const std::string kInit = R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

} // namespace

TEST_SUITE("stdio") {

TEST_CASE("one reply per request line - notifications and blank lines produce nothing") {
  StdioRun run;
  run.feed(kInit + "\n");
  run.feed("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n\n   \n");
  run.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n");
  run.feed("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n");
  auto lines = run.finish();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["id"] == 0);
  CHECK(lines[1] == json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", json::object()}});
  CHECK(lines[2]["result"]["tools"].size() == 4);
}

TEST_CASE("garbage - an oversized line and a message split across writes: the loop keeps serving") {
  StdioRun run;
  run.feed("this is not json\n");
  std::string big(mcp::Session::kMaxLineBytes + 10, 'x');
  run.feed(big + "\n");
  run.feed("{\"jsonrpc\":\"2.0\",");
  run.feed("\"id\":3,\"method\":\"ping\"}\n");
  run.feed("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}"); // last line without a newline
  auto lines = run.finish();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]["error"]["code"] == -32700);
  CHECK(lines[1]["error"]["code"] == -32600);
  CHECK(lines[1]["error"]["message"].get<std::string>().find("exceeds the limit") != std::string::npos);
  CHECK(lines[2]["id"] == 3);
  CHECK(lines[3]["id"] == 4);
}

TEST_CASE("end of input finishes tool calls in flight and answers them before exiting") {
  StdioRun run;
  run.feed(kInit + "\n");
  for (int i = 10; i < 20; ++i)
    run.feed(R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
             R"(,"method":"tools/call","params":{"name":"list_access_tokens","arguments":{}}})" + "\n");
  auto lines = run.finish();
  REQUIRE(lines.size() == 11);
  std::set<int> ids;
  for (std::size_t i = 1; i < lines.size(); ++i)
    ids.insert(lines[i]["id"].get<int>());
  CHECK(ids.size() == 10);
  CHECK(run.harness.api.calls().size() == 10);
}

TEST_CASE("a stop signal ends the loop with exit code 0") {
  int efd = eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  StdioRun run(efd);
  run.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
  std::uint64_t one = 1;
  REQUIRE(write(efd, &one, sizeof one) == sizeof one);
  bool stopped = run.exit_code.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  CHECK(stopped); // stdin is still open: only the signal can have ended the loop
  run.end_input();
  CHECK(run.exit_code.get() == 0);
  close(efd);
}

}
