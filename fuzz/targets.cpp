// The fuzz targets' bodies, shared by the libFuzzer entry points (fuzz_*.cpp, clang) and the
// corpus replay test (tests/test_fuzz_corpus.cpp, every build): each takes any bytes and must
// neither crash nor hang nor leak, whatever they are.
#include "fuzz/targets.hpp"

#include "config.hpp"
#include "http/request_reader.hpp"
#include "mcp/server.hpp"
#include "mcp/session.hpp"
#include "model/access_token.hpp"
#include "tools/token_tools.hpp"
#include "transport/http_mcp.hpp"
#include "upstream/account_api.hpp"

#include <algorithm>

namespace dfmcp::fuzz {

namespace {

class MemoryApi final : public upstream::AccountApi {
public:
  std::chrono::milliseconds timeout() const override { return std::chrono::seconds(1); }
  Expected<std::vector<model::AccessToken>, upstream::UpstreamError> list(CancelToken *, upstream::Deadline) override {
    model::AccessToken parent;
    parent.id = "parent";
    parent.display_key = "dft_PAR...wxyz";
    parent.permissions = {"*"};
    return std::vector<model::AccessToken>{parent};
  }
  Expected<model::CreatedToken, upstream::UpstreamError> create(const policy::CreatePlan &plan, CancelToken *,
                                                                upstream::Deadline) override {
    model::AccessToken t;
    t.id = "new0000000000000000000001";
    t.display_key = "dft_new...abcd";
    t.permissions = plan.permissions;
    t.website_ids = plan.website_ids;
    return model::CreatedToken{t, Secret("dft_newRAWkey0000000000000abcd")};
  }
  Expected<Ok, upstream::UpstreamError> revoke(const std::string &, CancelToken *, upstream::Deadline) override {
    return Ok{};
  }
  Expected<std::vector<model::Website>, upstream::UpstreamError> list_websites(CancelToken *,
                                                                               upstream::Deadline) override {
    return std::vector<model::Website>{{"site1", "one.example", "One", "df_1", "UTC", "USD", model::WebsiteRole::Owner},
                                       {"site2", "two.example", std::nullopt, "df_2", "UTC", "EUR",
                                        model::WebsiteRole::Viewer}};
  }
};

class NullStream final : public http::ResponseStream {
public:
  bool begin(int, const std::vector<http::Header> &) override { return started_ = true; }
  bool write(std::string_view) override { return started_; }
  bool started() const override { return started_; }

private:
  bool started_ = false;
};

struct World {
  MemoryApi api;
  tools::ToolRegistry registry;
  std::unique_ptr<mcp::Server> server;
  explicit World(std::vector<std::string> perms = {"analytics:read", "websites:read"},
                 std::optional<std::vector<std::string>> sites = std::vector<std::string>{"site1", "site2"}) {
    tools::register_token_tools(registry, api, Secret("dft_PARENTkey000000000000000wxyz"));
    auto ceiling = policy::make_ceiling({std::move(perms), std::move(sites)});
    server = std::make_unique<mcp::Server>(registry, *ceiling);
  }
};

} // namespace

void session(std::string_view input) {
  World world; // fresh each run: the broker's state (minted tokens, quotas) must not accumulate
  mcp::Session s(*world.server, "fuzz", world.server->ceiling(), [](const json &) { return false; });
  // An initialize first, so that tools/* are reachable; then every line of the input.
  s.handle_line(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})");
  while (!input.empty()) {
    std::size_t nl = input.find('\n');
    mcp::Step step = s.handle_line(input.substr(0, nl));
    if (step.job)
      step.job->run();
    if (step.reply)
      (void)dump_json(*step.reply); // every reply must serialise
    if (nl == std::string_view::npos)
      break;
    input.remove_prefix(nl + 1);
  }
}

void config(std::string_view input) {
  config::Options options;
  options.config_path = "fuzz.json";
  auto env = [](const std::string &name) -> std::optional<std::string> {
    if (name == "DATAFAST_TOKEN")
      return std::string("dft_FUZZtoken0000000000000000wxyz");
    if (name.find("TOKEN") != std::string::npos)
      return std::string("client-token-0123456789abcdef");
    return std::nullopt;
  };
  auto cfg = config::load_text(std::string(input), options, env);
  if (!cfg)
    (void)cfg.error().to_string();
}

void upstream(std::string_view input) {
  std::string body(input);
  if (auto list = upstream::parse_list(body)) {
    for (const model::AccessToken &t : *list)
      (void)dump_json(model::public_view(t));
  } else {
    (void)upstream::describe(list.error(), "list", false);
  }
  if (auto created = upstream::parse_created(body))
    (void)dump_json(model::public_view(created->token));
}

void http_request(std::string_view input) {
  static World world({"*"}, std::nullopt);
  static transport::McpHttpEndpoint endpoint = [] {
    transport::HttpEndpointOptions o;
    o.port = 8787;
    o.identities.push_back({"local", Secret(), &world.server->ceiling()});
    return transport::McpHttpEndpoint(*world.server, o);
  }();
  http::Limits limits;
  limits.max_body_bytes = 64 * 1024;
  http::RequestReader reader(limits);
  std::string buffer;
  // The first byte picks the piece size, so requests split at every point get exercised.
  std::size_t piece = input.empty() ? 1 : 1 + static_cast<unsigned char>(input[0]) % 64;
  for (std::size_t at = input.empty() ? 0 : 1; at < input.size(); at += piece) {
    buffer.append(input.substr(at, std::min(piece, input.size() - at)));
    for (;;) {
      std::size_t used = 0;
      auto state = reader.feed(buffer, used);
      buffer.erase(0, used);
      if (state == http::RequestReader::State::Failed) {
        (void)http::serialize(http::Response{reader.error().status, {}, reader.error().message, true});
        return;
      }
      if (state == http::RequestReader::State::NeedMore)
        break;
      http::Request request = reader.take();
      CancelToken disconnect;
      NullStream stream;
      http::Response response = endpoint.handle(request, disconnect, stream);
      (void)http::serialize(response, request.method == "HEAD");
    }
  }
}

} // namespace dfmcp::fuzz
