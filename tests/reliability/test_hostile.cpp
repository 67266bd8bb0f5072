// Hostile HTTP clients against the real binary: idle and slow connections, huge headers and
// bodies, random bytes, requests on ended sessions. Threads and memory stay bounded, nothing
// crashes, and a normal client is served throughout.
#include "support/process.hpp"
#include "support/raw_http.hpp"
#include "util/json_input.hpp"

#include <doctest/doctest.h>

#include <openssl/rand.h>

#include <csignal>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

const std::map<std::string, std::string> kHeaders = {{"Content-Type", "application/json"},
                                                     {"Accept", "application/json, text/event-stream"}};

std::string initialize_body() {
  return R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})";
}

// A normal client: initialize, then tools/list on its session.
bool served(int port) {
  auto init = http_exchange(port, "POST", "/mcp", kHeaders, initialize_body());
  if (!init || init->status != 200)
    return false;
  auto h = kHeaders;
  h["Mcp-Session-Id"] = init->header("mcp-session-id");
  auto list = http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  return list && list->status == 200 && json::parse(list->body)["result"]["tools"].size() == 5;
}

} // namespace

TEST_SUITE("hostile") {

TEST_CASE("hostile HTTP clients: bounded threads and memory, no crash, others served") {
  auto child = Child::spawn({DFMCP_BINARY, "--sandbox", "--permissions", "*", "--websites", "*", "--http",
                             "127.0.0.1:0", "--log-level", "info"},
                            {});
  REQUIRE(child->wait_for_stderr("serving MCP over HTTP at http://127.0.0.1:"));
  std::string err = child->all_stderr();
  int port = std::stoi(err.substr(err.find("http://127.0.0.1:") + 17));
  REQUIRE(served(port));
  ProcessStats before = process_stats(child->pid());

  std::vector<std::unique_ptr<RawConnection>> attackers;
  // 300 idle connections and 200 stuck halfway through their headers, from another address
  // (127.0.0.2), which may hold 256 of them (http.maxConnectionsPerAddress's default): the rest
  // are refused with 503, and the normal clients on 127.0.0.1 are served throughout.
  for (int i = 0; i < 500; ++i) {
    attackers.push_back(std::make_unique<RawConnection>(port, "127.0.0.2"));
    if (i % 5 < 2)
      attackers.back()->send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  }
  {
    RawConnection one_too_many(port, "127.0.0.2");
    auto r = one_too_many.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 503);
  }
  // Huge headers, a huge declared body, a huge chunked body, random bytes.
  RawConnection huge_headers(port);
  huge_headers.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(100000, 'h') + "\r\n\r\n");
  auto huge_status = huge_headers.read_response();
  REQUIRE(huge_status.has_value());
  CHECK(huge_status->status == 431);
  RawConnection huge_body(port);
  huge_body.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n");
  auto body_status = huge_body.read_response();
  REQUIRE(body_status.has_value());
  CHECK(body_status->status == 413);
  RawConnection chunked(port);
  chunked.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i)
    refused = !chunked.send("10000\r\n" + std::string(0x10000, 'b') + "\r\n");
  auto chunked_status = chunked.read_response(std::chrono::seconds(5));
  CHECK((refused || (chunked_status && chunked_status->status == 413)));
  for (int i = 0; i < 20; ++i) {
    RawConnection noise(port);
    unsigned char bytes[512];
    RAND_bytes(bytes, sizeof bytes);
    noise.send(std::string_view(reinterpret_cast<char *>(bytes), sizeof bytes));
    noise.send("\r\n\r\n");
    auto r = noise.read_response(std::chrono::seconds(5));
    CHECK((!r || r->status >= 400));
  }
  // A request at every stage of an ended session.
  auto init = http_exchange(port, "POST", "/mcp", kHeaders, initialize_body());
  REQUIRE(init.has_value());
  auto h = kHeaders;
  h["Mcp-Session-Id"] = init->header("mcp-session-id");
  CHECK(http_exchange(port, "DELETE", "/mcp", h, "")->status == 200);
  for (int i = 0; i < 20; ++i)
    CHECK(http_exchange(port, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})")->status == 404);

  // Under all of that, normal clients are served, and the server holds no thread per client.
  for (int i = 0; i < 5; ++i)
    CHECK(served(port));
  ProcessStats under = process_stats(child->pid());
  CHECK(under.threads == before.threads);
  CHECK(under.rss_kib - before.rss_kib < 64 * 1024); // 500+ connections cost buffers, not threads
  MESSAGE("under attack: threads " << under.threads << ", RSS " << under.rss_kib << " KiB (before: "
                                   << before.rss_kib << "), fds " << under.fds);

  attackers.clear();
  CHECK(served(port));
  child->signal(SIGTERM);
  CHECK(child->wait() == 0);
}

}
