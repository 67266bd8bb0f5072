#include "config.hpp"
#include "tools/schemas.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>

using namespace dfmcp;
using namespace dfmcp::config;

namespace {

const std::string kToken = "dft_TESTtoken0123456789abcdefXYZ1";

Env env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string &name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end())
      return std::nullopt;
    return it->second;
  };
}

Env with_token() { return env_of({{"DATAFAST_TOKEN", kToken}}); }

struct FileCase {
  test::TempDir dir;
  Options options;
  explicit FileCase(std::string_view json) { options.config_path = dir.write("config.json", json); }
};

ConfigError error_of(const Expected<Config, ConfigError> &r) {
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

constexpr std::string_view kValid = R"({
  "upstream": {"timeoutMs": 5000},
  "ceiling": {"permissions": ["analytics:read", "websites:read"], "websiteIds": ["65a1b2c3d4e5f60718293a01"]},
  "logging": {"level": "debug"}
})";

} // namespace

TEST_SUITE("config") {

TEST_CASE("a valid file loads with defaults and remembers where each value came from") {
  FileCase c(kValid);
  auto cfg = load(c.options, with_token());
  REQUIRE(cfg.has_value());
  CHECK(cfg->upstream.to_string() == "https://datafa.st/api/v1/admin");
  CHECK(cfg->base_url.origin.source == Source::Default);
  CHECK(cfg->timeout_ms.value == 5000);
  CHECK(cfg->timeout_ms.origin.source == Source::File);
  CHECK(cfg->ceiling.permissions.names() == std::vector<std::string>{"analytics:read", "websites:read"});
  CHECK(cfg->ceiling.websites.ids == std::vector<std::string>{"65a1b2c3d4e5f60718293a01"});
  CHECK(cfg->log_level.value == "debug");
  CHECK(cfg->token.reveal() == kToken);
}

TEST_CASE("flags override the file - and the environment overrides the file's URL and CA") {
  FileCase c(R"({"upstream": {"baseUrl": "https://file.example/api"},
                 "ceiling": {"permissions": ["*"], "websiteIds": "*"}})");
  auto env = env_of({{"DATAFAST_TOKEN", kToken}, {"DATAFAST_API_URL", "https://env.example/v1"}});
  auto from_env = load(c.options, env);
  REQUIRE(from_env.has_value());
  CHECK(from_env->upstream.host == "env.example");
  CHECK(from_env->base_url.origin.describe() == "environment DATAFAST_API_URL");

  c.options.upstream_url = "https://flag.example:8443/x/";
  c.options.permissions = std::vector<std::string>{"goals:read"};
  c.options.websites = "abc,def";
  auto from_flags = load(c.options, env);
  REQUIRE(from_flags.has_value());
  CHECK(from_flags->upstream.host == "flag.example");
  CHECK(from_flags->upstream.port == 8443);
  CHECK(from_flags->upstream.base_path == "/x");
  CHECK(from_flags->base_url.origin.describe() == "flag --upstream-url");
  CHECK(from_flags->ceiling.permissions.names() == std::vector<std::string>{"goals:read"});
  CHECK(from_flags->ceiling.websites.ids == std::vector<std::string>{"abc", "def"});
  CHECK(from_flags->website_ids.origin.describe() == "flag --websites");
}

TEST_CASE("flags alone configure the server - with no file") {
  Options o;
  o.permissions = std::vector<std::string>{"analytics:read"};
  o.websites = "*";
  auto cfg = load(o, with_token());
  REQUIRE(cfg.has_value());
  CHECK(cfg->ceiling.websites.all);
}

TEST_CASE("config errors name the key and the problem") {
  struct Row {
    const char *json;
    const char *key;
    const char *message_start;
  };
  const Row rows[] = {
      {R"([])", "(top level)", "must be a JSON object"},
      {R"({"upstrem": {}})", "upstrem", "unknown key; did you mean 'upstream'?"},
      {R"({"upstream": {"baseURL": "https://x"}})", "upstream.baseURL", "unknown key; did you mean 'baseUrl'?"},
      {R"({"upstream": {"baseUrl": 5}})", "upstream.baseUrl", "must be a string, got integer 5"},
      {R"({"upstream": {"baseUrl": "http://datafa.st/api"}, "ceiling": {"permissions": ["*"], "websiteIds": "*"}})",
       "upstream.baseUrl", "'http://datafa.st/api' must use https"},
      {R"({"upstream": {"timeoutMs": "5s"}})", "upstream.timeoutMs", "must be an integer"},
      {R"({"upstream": {"timeoutMs": 10}, "ceiling": {"permissions": ["*"], "websiteIds": "*"}})",
       "upstream.timeoutMs", "10 is out of range"},
      {R"({"ceiling": {"permissions": "analytics:read", "websiteIds": "*"}})", "ceiling.permissions", "must be a list"},
      {R"({"ceiling": {"permissions": ["analytics:read", 3], "websiteIds": "*"}})", "ceiling.permissions[1]", "must be a string"},
      {R"({"ceiling": {"permissions": ["analytics:reed"], "websiteIds": "*"}})", "ceiling.permissions[0]",
       "'analytics:reed' is not a DataFast permission"},
      {R"({"ceiling": {"permissions": [], "websiteIds": "*"}})", "ceiling.permissions", "an empty list would allow nothing"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": []}})", "ceiling.websiteIds", "an empty list is ambiguous"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": "all"}})", "ceiling.websiteIds", "must be a list of website ids or the string"},
      {R"({"ceiling": {"permissions": ["*"]}})", "ceiling.websiteIds", "not set"},
      {R"({"ceiling": {"websiteIds": "*"}})", "ceiling.permissions", "not set"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": "*", "extra": 1}})", "ceiling.extra", "unknown key"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "logging": {"level": "loud"}})", "logging.level",
       "'loud' is not a level"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "upstream": {"caFile": "/nonexistent/ca.pem"}})",
       "upstream.caFile", "cannot load certificates"},
      {R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "upstream": {"tokenEnv": "1BAD"}})",
       "upstream.tokenEnv", "'1BAD' is not an environment variable name"},
      {"{\"ceiling\": ", "--config", "'"},
      {R"({"upstream": {"timeoutMs": 18446744073709551615}, "ceiling": {"permissions": ["*"], "websiteIds": "*"}})",
       "upstream.timeoutMs", "the value is out of range"},
  };
  for (const Row &row : rows) {
    CAPTURE(row.json);
    FileCase c(row.json);
    ConfigError e = error_of(load(c.options, with_token()));
    CHECK(e.key == row.key);
    CHECK(e.message.find(row.message_start) != std::string::npos);
  }
}

TEST_CASE("a flag's error names the flag") {
  Options o;
  o.permissions = std::vector<std::string>{"analytics:read", "nope"};
  o.websites = "*";
  ConfigError e = error_of(load(o, with_token()));
  CHECK(e.key == "--permissions item 1");
  o.permissions = std::vector<std::string>{"analytics:read"};
  o.websites = "abc,,def";
  e = error_of(load(o, with_token()));
  CHECK(e.key == "--websites item 1");
  o.websites = "*";
  o.upstream_url = "ftp://x";
  e = error_of(load(o, with_token()));
  CHECK(e.key == "--upstream-url");
}

TEST_CASE("the parent token comes from the environment and must look like a dft_ token") {
  Options o;
  o.permissions = std::vector<std::string>{"*"};
  o.websites = "*";
  ConfigError missing = error_of(load(o, env_of({})));
  CHECK(missing.key == "DATAFAST_TOKEN");
  CHECK(missing.message.starts_with("not set"));

  ConfigError website_key = error_of(load(o, env_of({{"DATAFAST_TOKEN", "df_websitekey123456"}})));
  CHECK(website_key.message.find("must start with dft_") != std::string::npos);
  CHECK(website_key.to_string().find("df_websitekey123456") == std::string::npos);

  o.token_env = "MY_TOKEN";
  auto other = load(o, env_of({{"MY_TOKEN", kToken}}));
  REQUIRE(other.has_value());
  CHECK(other->token.reveal() == kToken);
}

TEST_CASE("http: listen turns HTTP on - defaults - flags override the file") {
  FileCase c(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"},
                 "http": {"listen": "127.0.0.1:8787", "allowedOrigins": ["https://app.example.com"]}})");
  auto cfg = load(c.options, with_token());
  REQUIRE(cfg.has_value());
  CHECK(cfg->http.enabled);
  CHECK(cfg->http.host == "127.0.0.1");
  CHECK(cfg->http.port == 8787);
  CHECK(cfg->http.loopback);
  CHECK(cfg->http.path.value == "/mcp");
  CHECK(cfg->http.allowed_origins.value == std::vector<std::string>{"https://app.example.com"});
  c.options.http_listen = "[::1]:0";
  c.options.http_path = "/v1/mcp";
  auto flags = load(c.options, with_token());
  REQUIRE(flags.has_value());
  CHECK(flags->http.host == "::1");
  CHECK(flags->http.port == 0);
  CHECK(flags->http.path.value == "/v1/mcp");
  CHECK(flags->http.listen.origin.describe() == "flag --http");
  c.options.http_listen = "8787"; // a bare port binds to loopback
  auto bare = load(c.options, with_token());
  REQUIRE(bare.has_value());
  CHECK(bare->http.host == "127.0.0.1");
  CHECK(bare->http.port == 8787);
}

TEST_CASE("http: a non-loopback address needs authentication") {
  Options o;
  o.permissions = std::vector<std::string>{"*"};
  o.websites = "*";
  o.http_listen = "0.0.0.0:8787";
  ConfigError e = error_of(load(o, with_token()));
  CHECK(e.key == "--http");
  CHECK(e.message.find("not a loopback address, so clients must authenticate") != std::string::npos);
  o.auth_token_env = "MCP_TOKEN";
  auto ok = load(o, env_of({{"DATAFAST_TOKEN", kToken}, {"MCP_TOKEN", "0123456789abcdef0123"}}));
  REQUIRE(ok.has_value());
  CHECK_FALSE(ok->http.loopback);
  CHECK(ok->http.auth_token.reveal() == "0123456789abcdef0123");
  ConfigError short_token = error_of(load(o, env_of({{"DATAFAST_TOKEN", kToken}, {"MCP_TOKEN", "short"}})));
  CHECK(short_token.key == "MCP_TOKEN");
  CHECK(short_token.to_string().find("short\n") == std::string::npos);
}

TEST_CASE("http: clients get their own tokens and ceilings within the server's") {
  constexpr std::string_view base = R"({"ceiling": {"permissions": ["analytics:read", "websites:read"], "websiteIds": ["a", "b"]},
    "http": {"listen": "127.0.0.1:0", "clients": [%s]}})";
  auto with_clients = [&](const std::string &clients) {
    std::string text(base);
    text.replace(text.find("%s"), 2, clients);
    return text;
  };
  auto env = env_of({{"DATAFAST_TOKEN", kToken}, {"R_TOKEN", "reader-token-0123456789"}, {"W_TOKEN", "writer-token-0123456789"}});
  {
    FileCase c(with_clients(R"({"name": "reader", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}})"));
    auto cfg = load(c.options, env);
    REQUIRE(cfg.has_value());
    REQUIRE(cfg->http.clients.size() == 1);
    CHECK(cfg->http.clients[0].ceiling.permissions.names() == std::vector<std::string>{"analytics:read"});
  }
  struct Row {
    std::string clients;
    std::string key;
    std::string needle;
  };
  std::vector<Row> rows = {
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["team:write"], "websiteIds": ["a"]}})",
       "http.clients[0].ceiling", "goes beyond the server's ceiling: permission 'team:write'"},
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": "*"}})",
       "http.clients[0].ceiling", "all websites"},
      {R"({"name": "r", "tokenEnv": "MISSING", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}})",
       "MISSING", "not set"},
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}},
          {"name": "w", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}})",
       "R_TOKEN", "holds the same token"},
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}},
          {"name": "r", "tokenEnv": "W_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": ["a"]}})",
       "http.clients[1].name", "names two clients"},
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "ceiling": {"permissions": ["analytics:read"], "websiteIds": []}})",
       "http.clients[0].ceiling.websiteIds", "ambiguous"},
      {R"({"name": "r", "tokenEnv": "R_TOKEN", "scope": 1})", "http.clients[0].scope", "unknown key"},
  };
  for (const Row &row : rows) {
    CAPTURE(row.clients);
    FileCase c(with_clients(row.clients));
    ConfigError e = error_of(load(c.options, env));
    CHECK(e.key == row.key);
    CHECK(e.message.find(row.needle) != std::string::npos);
  }
}

TEST_CASE("http: malformed values name their key") {
  struct Row {
    const char *http;
    const char *key;
  };
  const Row rows[] = {
      {R"({"listen": "localhost"})", "http.listen"},
      {R"({"listen": "127.0.0.1:99999"})", "http.listen"},
      {R"({"path": "/mcp"})", "http.listen"},
      {R"({"listen": "127.0.0.1:0", "path": "mcp"})", "http.path"},
      {R"({"listen": "127.0.0.1:0", "allowedOrigins": ["*"]})", "http.allowedOrigins[0]"},
      {R"({"listen": "127.0.0.1:0", "allowedOrigins": ["https://x.example/path"]})", "http.allowedOrigins[0]"},
      {R"({"listen": "127.0.0.1:0", "workers": 0})", "http.workers"},
      {R"({"listen": "127.0.0.1:0", "maxBodyBytes": "1MB"})", "http.maxBodyBytes"},
      {R"({"listen": "127.0.0.1:0", "tls": true})", "http.tls"},
      {R"({"listen": "127.0.0.1:0", "maxConnectionsPerAddress": 0})", "http.maxConnectionsPerAddress"},
  };
  for (const Row &row : rows) {
    CAPTURE(row.http);
    FileCase c(std::string(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "http": )") + row.http + "}");
    CHECK(error_of(load(c.options, with_token())).key == row.key);
  }
}

TEST_CASE("http.maxConnectionsPerAddress: 256 by default, a quarter of maxConnections when smaller, or as set") {
  auto load_http = [](const std::string &http) {
    FileCase c(std::string(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "http": )") + http + "}");
    auto cfg = load(c.options, with_token());
    REQUIRE(cfg.has_value());
    return cfg->http.max_connections_per_address;
  };
  CHECK(load_http(R"({"listen": "127.0.0.1:0"})") == 256);
  CHECK(load_http(R"({"listen": "127.0.0.1:0", "maxConnections": 32})") == 8);
  CHECK(load_http(R"({"listen": "127.0.0.1:0", "maxConnectionsPerAddress": 5000})") == 5000);
}

TEST_CASE("sandbox mode needs no token") {
  Options o;
  o.sandbox = true;
  o.permissions = std::vector<std::string>{"*"};
  o.websites = "*";
  auto cfg = load(o, env_of({}));
  REQUIRE(cfg.has_value());
  CHECK(cfg->token.empty());
}


TEST_CASE("env: each DATAFAST_MCP_ variable stands for its flag - flag > environment > file > default") {
  FileCase f(R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": ["65a1b2c3d4e5f60718293a01"]},
                 "limits": {"maxCreatesPerHour": 5}, "mint": {"namePrefix": "file:"}})");
  auto env = env_of({{"DATAFAST_TOKEN", kToken},
                     {"DATAFAST_MCP_PERMISSIONS", "analytics:read,websites:read"},
                     {"DATAFAST_MCP_WEBSITES", "65a1b2c3d4e5f60718293a01,65a1b2c3d4e5f60718293a02"},
                     {"DATAFAST_MCP_MAX_CREATES_PER_HOUR", "7"},
                     {"DATAFAST_MCP_NAME_PREFIX", "env:"},
                     {"DATAFAST_MCP_CONFIRM", "writes"},
                     {"DATAFAST_MCP_TIMEOUT_MS", "2500"},
                     {"DATAFAST_MCP_READ_ONLY", "true"}});
  auto cfg = load(f.options, env);
  REQUIRE(cfg.has_value());
  CHECK(cfg->permissions.value == std::vector<std::string>{"analytics:read", "websites:read"});
  CHECK(cfg->permissions.origin.describe() == "environment DATAFAST_MCP_PERMISSIONS");
  CHECK(cfg->website_ids.value->size() == 2);
  CHECK(cfg->website_ids.origin.describe() == "environment DATAFAST_MCP_WEBSITES");
  CHECK(cfg->safety.max_creates_per_hour.value == 7);
  CHECK(cfg->safety.name_prefix.value == "env:");
  CHECK(cfg->safety.confirm.origin.describe() == "environment DATAFAST_MCP_CONFIRM");
  CHECK(cfg->timeout_ms.value == 2500);
  CHECK(cfg->tools.read_only.value);
  CHECK(cfg->tools.read_only.origin.describe() == "environment DATAFAST_MCP_READ_ONLY");

  // A flag beats the variable; the file's value is what the variable beat.
  f.options.permissions = std::vector<std::string>{"websites:read"};
  f.options.max_creates_per_hour = 3;
  cfg = load(f.options, env);
  REQUIRE(cfg.has_value());
  CHECK(cfg->permissions.value == std::vector<std::string>{"websites:read"});
  CHECK(cfg->permissions.origin.describe() == "flag --permissions");
  CHECK(cfg->safety.max_creates_per_hour.value == 3);

  // Unset (or empty) variables leave the file's values.
  cfg = load(FileCase(R"({"ceiling": {"permissions": ["analytics:read"], "websiteIds": "*"}, "mint": {"namePrefix": "file:"}})").options,
             env_of({{"DATAFAST_TOKEN", kToken}, {"DATAFAST_MCP_NAME_PREFIX", ""}}));
  REQUIRE(cfg.has_value());
  CHECK(cfg->safety.name_prefix.value == "file:");
  CHECK(cfg->permissions.origin.source == Source::File);
}

TEST_CASE("env: the ceiling alone from the environment - with the flags' syntax") {
  auto cfg = load(Options{}, env_of({{"DATAFAST_TOKEN", kToken}, {"DATAFAST_MCP_PERMISSIONS", "*"},
                                     {"DATAFAST_MCP_WEBSITES", "*"}}));
  REQUIRE(cfg.has_value());
  CHECK_FALSE(cfg->website_ids.value.has_value()); // "*": all websites
  CHECK(cfg->ceiling.permissions.is_all());
}

TEST_CASE("env: a malformed variable names the variable") {
  struct Row {
    std::string var, value, key, needle;
  };
  for (const Row &row : std::vector<Row>{
           {"DATAFAST_MCP_TIMEOUT_MS", "soon", "DATAFAST_MCP_TIMEOUT_MS", "'soon' is not a whole number"},
           {"DATAFAST_MCP_TIMEOUT_MS", "50", "DATAFAST_MCP_TIMEOUT_MS", "out of range"},
           {"DATAFAST_MCP_READ_ONLY", "yes please", "DATAFAST_MCP_READ_ONLY", "is not true, false, 1 or 0"},
           {"DATAFAST_MCP_PERMISSIONS", "analytics:raed", "DATAFAST_MCP_PERMISSIONS item 0", "not a DataFast permission"},
           {"DATAFAST_MCP_MAX_LIVE_MINTED", "0", "DATAFAST_MCP_MAX_LIVE_MINTED", "must be from 1 to 100000"},
           {"DATAFAST_MCP_CONFIRM", "sometimes", "DATAFAST_MCP_CONFIRM", "is not one of"},
           {"DATAFAST_MCP_TOOLS", "list_access_tokens,drop_tables", "DATAFAST_MCP_TOOLS", "unknown tool 'drop_tables'"},
       }) {
    CAPTURE(row.var);
    std::map<std::string, std::string> vars = {{"DATAFAST_TOKEN", kToken}, {"DATAFAST_MCP_PERMISSIONS", "*"},
                                               {"DATAFAST_MCP_WEBSITES", "*"}};
    vars[row.var] = row.value;
    ConfigError e = error_of(load(Options{}, env_of(vars)));
    CHECK(e.key == row.key);
    CHECK(e.message.find(row.needle) != std::string::npos);
    CHECK(e.where.empty());
  }
}

TEST_CASE("env: every variable is DATAFAST_MCP_ and the flag's name") {
  for (const EnvSetting &e : env_settings()) {
    std::string expected = "DATAFAST_MCP_";
    for (char c : std::string_view(e.flag).substr(2))
      expected += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(std::string(e.variable) == expected);
  }
  CHECK(env_settings().size() >= 15);
}

TEST_CASE("tools: --read-only keeps the tools annotated read-only - --tools a subset - unknown names refused") {
  Options o;
  o.permissions = std::vector<std::string>{"*"};
  o.websites = "*";
  auto all = load(o, with_token());
  REQUIRE(all.has_value());
  CHECK(all->tools.on == tools::defined_tool_names());

  o.read_only = true;
  auto ro = load(o, with_token());
  REQUIRE(ro.has_value());
  // Derived from each definition's annotations, not a list: whatever is read-only is in.
  std::vector<std::string> expected;
  for (const std::string &name : tools::defined_tool_names())
    if (tools::tool_definition(name)["annotations"]["readOnlyHint"] == true)
      expected.push_back(name);
  CHECK(ro->tools.on == expected);
  CHECK(std::find(expected.begin(), expected.end(), "list_access_tokens") != expected.end());
  CHECK(std::find(expected.begin(), expected.end(), "get_token_ceiling") != expected.end());
  CHECK(std::find(expected.begin(), expected.end(), "create_access_token") == expected.end());
  CHECK(std::find(expected.begin(), expected.end(), "revoke_access_token") == expected.end());

  o.read_only.reset();
  o.tools = "list_access_tokens,create_access_token";
  auto subset = load(o, with_token());
  REQUIRE(subset.has_value());
  CHECK(subset->tools.on == std::vector<std::string>{"create_access_token", "list_access_tokens"});
  CHECK(subset->tools.enabled.origin.describe() == "flag --tools");

  o.read_only = true; // both: the read-only ones of the subset
  auto both = load(o, with_token());
  REQUIRE(both.has_value());
  CHECK(both->tools.on == std::vector<std::string>{"list_access_tokens"});

  o.tools = "create_access_token";
  ConfigError none = error_of(load(o, with_token()));
  CHECK(none.key == "--tools");
  CHECK(none.message.find("leaves no tool with read-only on") != std::string::npos);

  o.read_only.reset();
  o.tools = "list_access_tokens,mint,burn";
  ConfigError unknown = error_of(load(o, with_token()));
  CHECK(unknown.key == "--tools");
  CHECK(unknown.message.starts_with("unknown tools 'mint', 'burn'; known tools: "));
}

TEST_CASE("tools: the config file's tools.readOnly and tools.enabled") {
  FileCase f(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "tools": {"readOnly": true}})");
  auto cfg = load(f.options, with_token());
  REQUIRE(cfg.has_value());
  CHECK(cfg->tools.read_only.origin.source == Source::File);
  CHECK(std::find(cfg->tools.on.begin(), cfg->tools.on.end(), "create_access_token") == cfg->tools.on.end());
  f.options.read_only = false; // the flag (or its variable) overrides the file
  cfg = load(f.options, with_token());
  REQUIRE(cfg.has_value());
  CHECK(cfg->tools.on == tools::defined_tool_names());

  FileCase bad(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "tools": {"enabled": ["list_tokens"]}})");
  ConfigError e = error_of(load(bad.options, with_token()));
  CHECK(e.key == "tools.enabled");
  CHECK(e.message.find("unknown tool 'list_tokens'") != std::string::npos);
  CHECK(e.where == bad.options.config_path);
  FileCase typo(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "tools": {"readonly": true}})");
  CHECK(error_of(load(typo.options, with_token())).key == "tools.readonly");
  FileCase type(R"({"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "tools": {"readOnly": "yes"}})");
  CHECK(error_of(load(type.options, with_token())).key == "tools.readOnly");
}

TEST_CASE("sandbox with no ceiling: the demo ceiling, marked as such") {
  Options o;
  o.sandbox = true;
  auto cfg = load(o, env_of({}));
  REQUIRE(cfg.has_value());
  CHECK(cfg->demo_ceiling);
  CHECK(cfg->permissions.value == std::vector<std::string>{"analytics:read", "websites:read"});
  CHECK(cfg->permissions.origin.describe() == "sandbox (demo ceiling)");
  REQUIRE(cfg->website_ids.value.has_value());
  CHECK(cfg->website_ids.value->size() == 2);
  o.permissions = std::vector<std::string>{"*"};
  o.websites = "*";
  cfg = load(o, env_of({}));
  REQUIRE(cfg.has_value());
  CHECK_FALSE(cfg->demo_ceiling);
  // Without --sandbox there is still no default ceiling.
  CHECK(error_of(load(Options{}, with_token())).key == "ceiling.permissions");
}

}
