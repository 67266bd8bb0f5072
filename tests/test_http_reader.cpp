// The request front end (RequestReader over Boost.Beast's parser), bytes in, request or error out.
#include "http/request_reader.hpp"

#include <doctest/doctest.h>

using namespace dfmcp::http;
using State = RequestReader::State;

namespace {
// Feeds `buffer` and drops what the reader consumed, as the server does.
State parse(RequestReader &p, std::string &buffer) {
  std::size_t used = 0;
  State s = p.feed(buffer, used);
  buffer.erase(0, used);
  return s;
}

struct Parsed {
  State state;
  Request request;
  ParseError error;
  std::string rest;
};

Parsed parse_all(std::string input, Limits limits = {}) {
  RequestReader p(limits);
  State s = parse(p, input);
  Parsed out{s, {}, p.error(), input};
  if (s == State::Complete)
    out.request = p.take();
  return out;
}
} // namespace

TEST_SUITE("http.reader") {

TEST_CASE("a POST with Content-Length parses into method, path, query, headers and body") {
  auto p = parse_all("POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\n\r\n{}");
  REQUIRE(p.state == State::Complete);
  CHECK(p.request.method == "POST");
  CHECK(p.request.path == "/mcp");
  CHECK(p.request.query == "x=1");
  CHECK(*p.request.header("content-type") == "application/json");
  CHECK(p.request.body == "{}");
  CHECK(p.request.keep_alive());
  CHECK(p.rest.empty());
}

TEST_CASE("bytes arriving one at a time give the same request") {
  std::string wire = "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  RequestReader p({});
  std::string buffer;
  State s = State::NeedMore;
  for (char c : wire) {
    buffer.push_back(c);
    s = parse(p, buffer);
    if (s != State::NeedMore)
      break;
  }
  REQUIRE(s == State::Complete);
  CHECK(p.take().body == "hello");
}

TEST_CASE("pipelined requests: the next one stays in the buffer") {
  std::string wire = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestReader p({});
  REQUIRE(parse(p, wire) == State::Complete);
  CHECK(p.take().path == "/a");
  REQUIRE(parse(p, wire) == State::Complete);
  CHECK(p.take().path == "/b");
  CHECK(wire.empty());
}

TEST_CASE("chunked bodies are decoded, extensions and trailers ignored") {
  auto p = parse_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n");
  REQUIRE(p.state == State::Complete);
  CHECK(p.request.body == "abcde");
}

TEST_CASE("malformed and oversized requests fail with the right status") {
  Limits small;
  small.max_body_bytes = 10;
  small.max_header_bytes = 200;
  small.max_headers = 5;
  struct Row {
    std::string wire;
    int status;
  };
  std::vector<Row> rows = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /x HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /x HTTP/1.1\r\n\r\n", 400},                                   // no Host
      {"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},              // two Hosts
      {"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET /x HTTP/1.1\r\nHost: a\r\nOrigin: x\r\nOrigin: y\r\n\r\n", 400},
      {"GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\nAuthorization: y\r\n\r\n", 400},
      {"GET /x HTTP/1.1\nHost: a\n\n", 400},                         // bare LF
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\nb\r\nx\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(1100, 'e') + "\r\n", 400},
      {"GET /x HTTP/1.1\r\nHost: a\r\nBad Header: 1\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n", 413},
      {"GET /x HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'v') + "\r\n\r\n", 431},
      {"GET /x HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431},
      {"GET /x HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400},
  };
  for (const Row &row : rows) {
    CAPTURE(row.wire);
    auto p = parse_all(row.wire, small);
    REQUIRE(p.state == State::Failed);
    CHECK(p.error.status == row.status);
  }
}

TEST_CASE("a header section without an end fails once it passes the limit") {
  Limits l;
  l.max_header_bytes = 100;
  RequestReader p(l);
  std::string buffer = "GET /x HTTP/1.1\r\nHost: a\r\n";
  CHECK(parse(p, buffer) == State::NeedMore);
  buffer += std::string(200, 'x');
  CHECK(parse(p, buffer) == State::Failed);
  CHECK(p.error().status == 431);
}

TEST_CASE("keep-alive: HTTP/1.1 unless Connection: close - HTTP/1.0 only when asked") {
  CHECK_FALSE(parse_all("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").request.keep_alive());
  CHECK(parse_all("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, keep-alive\r\n\r\n").request.keep_alive());
  CHECK_FALSE(parse_all("GET / HTTP/1.0\r\n\r\n").request.keep_alive());
  CHECK(parse_all("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive());
}

TEST_CASE("Expect: 100-continue is noticed once the headers are in") {
  RequestReader p({});
  std::string buffer = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  CHECK(parse(p, buffer) == State::NeedMore);
  CHECK(p.headers_done());
  CHECK(p.expects_continue());
}

}
