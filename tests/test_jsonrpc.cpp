#include "support/rpc.hpp"
#include "mcp/server.hpp"
#include "util/json_input.hpp"

using namespace dfmcp;
using namespace dfmcp::test;

namespace {
Harness harness() { return Harness(make_test_ceiling({"*"}, std::nullopt)); }
} // namespace

TEST_SUITE("jsonrpc") {

TEST_CASE("parse errors - invalid requests and batches get the spec's error with a null id") {
  struct Row {
    const char *line;
    int code;
    const char *message_start;
  };
  const Row rows[] = {
      {"{not json", -32700, "parse error: invalid JSON at byte"},
      {"\"\xff\xfe\"", -32700, "parse error"},
      {"[]", -32600, "invalid request: an empty array"},
      {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", -32600, "invalid request: batches"},
      {"42", -32600, "invalid request: a message must be a JSON object, got integer"},
      {"null", -32600, "invalid request: a message must be a JSON object"},
      {R"({"id":1,"method":"ping"})", -32600, "invalid request: \"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", -32600, "invalid request: \"jsonrpc\""},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", -32600, "invalid request: \"id\" must not be null"},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", -32600, "invalid request: \"id\" must be a string or an integer"},
      {R"({"jsonrpc":"2.0","id":{},"method":"ping"})", -32600, "invalid request: \"id\""},
      {R"({"jsonrpc":"2.0","id":1})", -32600, "invalid request: \"method\" is missing"},
  };
  Harness h = harness();
  for (const Row &row : rows) {
    CAPTURE(row.line);
    json reply = h.send_line(row.line);
    REQUIRE(reply.is_object());
    CHECK(reply["jsonrpc"] == "2.0");
    CHECK(error_code(reply) == row.code);
    CHECK(reply["error"]["message"].get<std::string>().starts_with(row.message_start));
    CHECK(reply.contains("id"));
    if (row.code == -32700 || std::string_view(row.line).find("\"id\":1") == std::string_view::npos)
      CHECK(reply["id"].is_null());
  }
  // The session still serves after all of that.
  json pong = h.request("ping");
  CHECK(pong == json{{"jsonrpc", "2.0"}, {"id", h.next_id}, {"result", json::object()}});
}

TEST_CASE("an error keeps the request's id when it is readable") {
  Harness h = harness();
  json r = h.send_line(R"({"jsonrpc":"2.0","id":"abc","method":7})");
  CHECK(r["id"] == "abc");
  CHECK(error_code(r) == -32600);
}

TEST_CASE("params that are not an object: an array is invalid params - a scalar an invalid request") {
  Harness h = harness();
  CHECK(error_code(h.send_line(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})")) == -32602);
  CHECK(error_code(h.send_line(R"({"jsonrpc":"2.0","id":2,"method":"ping","params":"x"})")) == -32600);
}

TEST_CASE("notifications are never answered - even unknown or malformed ones") {
  Harness h = harness();
  CHECK(h.send_line(R"({"jsonrpc":"2.0","method":"notifications/unknown"})").is_null());
  CHECK(h.send_line(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}})").is_null());
  CHECK(h.send_line(R"({"jsonrpc":"2.0","method":5})").is_null());
  CHECK(h.send_line(R"({"jsonrpc":"2.0","method":"notifications/initialized","params":"bad"})").is_null());
  CHECK(h.send_line(R"({"jsonrpc":"1.0","method":"notifications/initialized"})").is_null());
  CHECK(h.send_line(R"({"method":"notifications/cancelled","params":{"requestId":1}})").is_null());
}

TEST_CASE("responses from the client are accepted silently") {
  Harness h = harness();
  CHECK(h.send_line(R"({"jsonrpc":"2.0","id":1,"result":{}})").is_null());
  CHECK(h.send_line(R"({"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"x"}})").is_null());
}

TEST_CASE("deeply nested JSON is refused quickly instead of exhausting the stack") {
  Harness h = harness();
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  json r = h.send_line(deep);
  CHECK(error_code(r) == -32700);
  CHECK(r["error"]["message"].get<std::string>().find("nested deeper than 64") != std::string::npos);
}

TEST_CASE("quote_json_string gives dump_json's bytes for every byte value, UTF-8 and broken UTF-8") {
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c)
    all_ascii += static_cast<char>(c);
  CHECK(quote_json_string(all_ascii) == dump_json(json(all_ascii)));
  CHECK(quote_json_string("") == "\"\"");
  CHECK(quote_json_string(R"({"a":"b\"c\\d"})") == R"("{\"a\":\"b\\\"c\\\\d\"}")");
  const std::string_view pieces[] = {"a", "\"", "\\", "\n", "\x01", "\x1f", "\x7f", "\xC3\xA9", "\xE2\x80\xA6",
                                     "\xF0\x9F\x94\x91", "\xC3", "\xFF", "{\"k\":[1,2]}", " ", "\t"};
  std::uint32_t state = 99;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int n = 0; n < 5000; ++n) {
    std::string text;
    for (int k = static_cast<int>(next() >> 28); k > 0; --k)
      text += pieces[(next() >> 16) % std::size(pieces)];
    REQUIRE_MESSAGE(quote_json_string(text) == dump_json(json(text)), text);
  }
}

TEST_CASE("parse_json bounds the depth exactly, whatever brackets strings hold") {
  auto nest = [](std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  CHECK(parse_json(nest(3), 3).has_value());
  auto deeper = parse_json(nest(4), 3);
  REQUIRE_FALSE(deeper.has_value());
  CHECK(deeper.error() == "JSON nested deeper than 3 levels");

  // Brackets, escaped quotes and backslashes inside strings are text, not nesting.
  auto text = parse_json(R"({"a":"[[[{{{\"[[[\\","b":["]]]\\\"{{{"]})", 2);
  REQUIRE(text.has_value());
  CHECK((*text)["a"] == "[[[{{{\"[[[\\");
  CHECK((*text)["b"][0] == "]]]\\\"{{{");
  // ... and a string hides no real nesting after it.
  CHECK_FALSE(parse_json(R"(["\\", [[[]]]])", 3).has_value());

  // The first problem is named: invalid text before the depth runs out is a syntax error.
  auto invalid_first = parse_json("[x" + nest(100), 64);
  REQUIRE_FALSE(invalid_first.has_value());
  CHECK(invalid_first.error().rfind("invalid JSON at byte 2", 0) == 0);
  auto truncated = parse_json(R"({"a": [1, 2)");
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().find("invalid JSON") == 0);
}

TEST_CASE("a message over the size limit is refused") {
  Harness h = harness();
  std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" +
                     std::string(mcp::Session::kMaxLineBytes, 'a') + "\"}}";
  json r = h.send_line(huge);
  CHECK(error_code(r) == -32600);
  CHECK(r["error"]["message"].get<std::string>().find("exceeds the limit") != std::string::npos);
}

TEST_CASE("a pre-serialized reply is byte for byte the serialized JSON reply") {
  const json result = json{{"tools", json::array({json{{"name", "x"}, {"description", "caf\u00e9 \"q\" \\ \n"}}})}};
  const std::string text = dump_json(result);
  for (const json &id : {json(1), json(-7), json(9007199254740993LL), json("abc"), json("\u00e9\"\\\n"), json(nullptr)})
    CHECK(mcp::make_result_text(id, text) == dump_json(mcp::make_result(id, result)));
}

TEST_CASE("a tool result serialized directly is byte for byte the dumped CallToolResult") {
  std::vector<tools::ToolResult> results = {
      tools::ToolResult::success(json{{"permissions", {"analytics:read", "*"}}, {"note", "caf\u00e9 \"q\" \\ \n\t\u0001"},
                                      {"n", 9007199254740993LL}, {"x", 1.5}, {"empty", json::object()}}),
      tools::ToolResult::success(json::object()),
      tools::ToolResult::failure("create_access_token: /permissions/0: 'x' is not allowed \"here\"\n"),
  };
  for (const tools::ToolResult &r : results) {
    for (bool modern : {false, true}) {
      CAPTURE(modern);
      json expected = r.to_json();
      if (modern)
        mcp::Server::stamp_modern(expected);
      auto text = mcp::Server::call_result_text(r, modern);
      REQUIRE(text.has_value());
      CHECK(*text == dump_json(expected));
    }
  }
  tools::ToolResult asking;
  asking.input_required = json{{"inputRequests", json::object()}};
  CHECK_FALSE(mcp::Server::call_result_text(asking, true).has_value());
}

TEST_CASE("tools/list is served pre-serialized, with the request's id, and equals the registry's list") {
  Harness h = harness();
  h.initialize();
  for (const json &id : {json(5), json("req-\u00e9")}) {
    mcp::Step step = h.session->handle(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}});
    REQUIRE(step.reply_text.has_value());
    CHECK_FALSE(step.reply.has_value());
    json reply = json::parse(*step.reply_text);
    CHECK(reply["id"] == id);
    CHECK(reply["result"] == h.registry.list_result());
  }
}

}
