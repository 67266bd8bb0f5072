#include "support/rpc.hpp"
#include "transport/stdio.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <mutex>
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
  std::mutex seen_mutex; // what stdout carried so far, for wait_reply
  std::condition_variable seen_more;
  std::string seen;

  explicit StdioRun(std::shared_ptr<transport::StopSwitch> stop = nullptr, std::size_t workers = 4) {
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    transport::StdioOptions o;
    o.in_fd = in[0];
    o.out_fd = out[1];
    o.stop = std::move(stop);
    o.workers = workers;
    exit_code = std::async(std::launch::async, [this, o] {
      int code = transport::run_stdio(*harness.server, o);
      close(out[1]);
      return code;
    });
    output = std::async(std::launch::async, [this] {
      std::string all;
      char buf[65536];
      ssize_t n;
      while ((n = read(out[0], buf, sizeof buf)) > 0) {
        all.append(buf, static_cast<std::size_t>(n));
        std::lock_guard lock(seen_mutex);
        seen = all;
        seen_more.notify_all();
      }
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
  // Waits (guarded) until stdout has carried the reply to `id`, while the loop keeps running.
  bool wait_reply(int id) {
    std::unique_lock lock(seen_mutex);
    return seen_more.wait_for(lock, std::chrono::seconds(10), [&] {
      std::istringstream s(seen);
      for (std::string line; std::getline(s, line);)
        if (!s.eof() && json::parse(line).value("id", json()) == id)
          return true;
      return false;
    });
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

// Holds the fake DataFast's calls until released, counting those that arrived.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  int entered = 0;
  bool open = false;
  void pass() {
    std::unique_lock lock(mutex);
    ++entered;
    changed.notify_all();
    changed.wait(lock, [&] { return open; });
  }
  bool wait_entered(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return entered >= n; });
  }
  int count() {
    std::lock_guard lock(mutex);
    return entered;
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
};

std::string list_call(int id) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"list_access_tokens","arguments":{}}})" + "\n";
}

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
  CHECK(lines[2]["result"]["tools"].size() == 5);
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
    run.feed(list_call(i));
  auto lines = run.finish();
  REQUIRE(lines.size() == 11);
  std::set<int> ids;
  for (std::size_t i = 1; i < lines.size(); ++i)
    ids.insert(lines[i]["id"].get<int>());
  CHECK(ids.size() == 10);
  auto calls = run.harness.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "list") == 10); // (and reads of the website list)
}

TEST_CASE("a stop signal ends the loop with exit code 0") {
  auto stop = std::make_shared<transport::StopSwitch>();
  StdioRun run(stop);
  run.feed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
  REQUIRE(run.wait_reply(1));
  stop->request("SIGTERM");
  bool stopped = run.exit_code.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  CHECK(stopped); // stdin is still open: only the stop can have ended the loop
  run.end_input();
  CHECK(run.exit_code.get() == 0);
}

TEST_CASE("a stop requested before the loop starts ends it at once, reading nothing") {
  auto stop = std::make_shared<transport::StopSwitch>();
  stop->request("SIGINT");
  StdioRun run(stop);
  bool stopped = run.exit_code.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  CHECK(stopped);
  run.feed(list_call(1)); // the pipe still takes it; nobody answers
  auto lines = run.finish();
  CHECK(lines.empty());
  CHECK(run.harness.api.calls().empty());
}

TEST_CASE("a stop cancels a call waiting on DataFast: it is not answered, and the loop ends") {
  auto stop = std::make_shared<transport::StopSwitch>();
  StdioRun run(stop);
  Gate gate;
  run.harness.api.on_call = [&] { gate.pass(); };
  run.feed(kInit + "\n" + list_call(1));
  REQUIRE(gate.wait_entered(1));
  stop->request("SIGTERM");
  gate.release(); // the fake ignores cancellation: it answers, and the answer must be dropped
  bool stopped = run.exit_code.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  CHECK(stopped);
  auto lines = run.finish();
  REQUIRE(lines.size() == 1); // the initialize reply only
  CHECK(lines[0]["id"] == 0);
}

TEST_CASE("a call and a ping in one write: the ping is answered while the call waits on DataFast") {
  StdioRun run;
  Gate gate;
  run.harness.api.on_call = [&] { gate.pass(); };
  run.feed(kInit + "\n");
  // The line after the call was read together with it: the thread that runs the call must leave
  // it to the next reader.
  run.feed(list_call(10) + R"({"jsonrpc":"2.0","id":1,"method":"ping"})" + "\n");
  REQUIRE(gate.wait_entered(1));
  CHECK(run.wait_reply(1));
  gate.release();
  auto lines = run.finish();
  REQUIRE(lines.size() == 3);
  CHECK(lines[1]["id"] == 1); // before the call it overtook
  CHECK(lines[2]["id"] == 10);
  CHECK(lines[2]["result"]["isError"] == false);
}

TEST_CASE("with every worker busy a call waits its turn - and ping is still answered at once") {
  StdioRun run(nullptr, 1); // one call at a time
  Gate gate;
  run.harness.api.on_call = [&] { gate.pass(); };
  run.feed(kInit + "\n");
  run.feed(list_call(10));
  REQUIRE(gate.wait_entered(1));
  run.feed(list_call(11));
  run.feed(R"({"jsonrpc":"2.0","id":1,"method":"ping"})" "\n");
  CHECK(run.wait_reply(1)); // the reader is free although the one worker is held
  CHECK(gate.count() == 1); // the second call is queued, not started
  gate.release();
  auto lines = run.finish();
  REQUIRE(lines.size() == 4);
  std::vector<int> ids;
  for (const json &line : lines)
    ids.push_back(line["id"].get<int>());
  CHECK(ids == std::vector<int>{0, 1, 10, 11});
  auto calls = run.harness.api.calls();
  CHECK(std::count(calls.begin(), calls.end(), "list") == 2);
}

TEST_CASE("stress: calls, pings, cancellations and garbage in random pieces - every request answered once") {
  StdioRun run(nullptr, 2); // two calls at a time: the rest queue
  std::atomic<int> upstream_calls{0};
  run.harness.api.on_call = [&] {
    ++upstream_calls;
    std::this_thread::yield();
  };
  std::string input = kInit + "\n";
  std::set<int> calls, pings, cancelled;
  int garbage = 0;
  std::uint32_t state = 7;
  auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 8; };
  for (int id = 1; id <= 400; ++id) {
    switch (next() % 6) {
    case 0:
    case 1:
      input += list_call(id);
      calls.insert(id);
      break;
    case 2:
      input += R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"ping"})" + "\n";
      pings.insert(id);
      break;
    case 3:
      if (!calls.empty()) { // cancel a recent call (it may have finished already)
        int victim = *std::prev(calls.end());
        input += R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":)" +
                 std::to_string(victim) + "}}\n";
        cancelled.insert(victim);
      }
      break;
    case 4:
      input += R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
               R"(,"method":"tools/call","params":{"name":"get_token_ceiling","arguments":{}}})" + "\n";
      pings.insert(id); // answered at once, like a ping
      break;
    default:
      input += "{not json\n";
      ++garbage;
    }
  }
  for (std::size_t at = 0; at < input.size();) { // pieces of 1 to 300 bytes: lines cut anywhere
    std::size_t n = std::min<std::size_t>(1 + next() % 300, input.size() - at);
    run.feed(std::string_view(input).substr(at, n));
    at += n;
  }
  auto lines = run.finish();
  std::map<int, int> answered;
  int parse_errors = 0;
  for (const json &line : lines) {
    if (line["id"].is_number())
      ++answered[line["id"].get<int>()];
    else if (line.contains("error") && line["error"]["code"] == -32700)
      ++parse_errors;
  }
  CHECK(parse_errors == garbage);
  CHECK(answered[0] == 1);
  for (int id : pings)
    CHECK_MESSAGE(answered[id] == 1, "id " << id);
  int call_replies = 0;
  for (int id : calls) {
    if (cancelled.count(id))
      CHECK_MESSAGE(answered[id] <= 1, "id " << id); // cancelled: answered if it finished first
    else
      CHECK_MESSAGE(answered[id] == 1, "id " << id);
    call_replies += answered[id];
  }
  CHECK(static_cast<int>(lines.size()) == 1 + parse_errors + static_cast<int>(pings.size()) + call_replies);
  // Each call lists once, plus at most one read of the parent's scope; get_token_ceiling reads the
  // website list once (calls that find it stale together share one read).
  std::vector<std::string> made = run.harness.api.calls();
  auto websites_reads = std::count(made.begin(), made.end(), "websites");
  CHECK(websites_reads <= 1);
  CHECK(upstream_calls.load() - websites_reads <= static_cast<int>(calls.size()) + 1);
}

TEST_CASE("stdin a regular file (not pollable): every line is served, then end of input") {
  Harness harness{make_test_ceiling({"*"}, std::nullopt)};
  char path[] = "/tmp/dfmcp-stdin-XXXXXX";
  int in = mkstemp(path);
  REQUIRE(in >= 0);
  unlink(path);
  std::string input = kInit + "\n" + list_call(5) + R"({"jsonrpc":"2.0","id":6,"method":"ping"})"; // no final newline
  REQUIRE(write(in, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  REQUIRE(lseek(in, 0, SEEK_SET) == 0);
  int out[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  transport::StdioOptions o;
  o.in_fd = in;
  o.out_fd = out[1];
  CHECK(transport::run_stdio(*harness.server, o) == 0); // the replies fit in the pipe's buffer
  close(out[1]);
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  close(in);
  std::set<int> ids;
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);)
    ids.insert(json::parse(line)["id"].get<int>());
  CHECK(ids == std::set<int>{0, 5, 6});
}

TEST_CASE("end of input and a stop signal at the same moment: the loop always ends (100 tries)") {
  for (int i = 0; i < 100; ++i) {
    auto stop = std::make_shared<transport::StopSwitch>();
    StdioRun run(stop);
    run.feed(kInit + "\n" + list_call(1) + list_call(2));
    std::thread signaller([&] { stop->request("SIGTERM"); });
    run.end_input();
    signaller.join();
    bool stopped = run.exit_code.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    REQUIRE_MESSAGE(stopped, "try " << i);
    CHECK(run.exit_code.get() == 0);
  }
}

}
