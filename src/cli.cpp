#include "cli.hpp"

#include "mcp/server.hpp"

#include <CLI/CLI.hpp>

#include <sstream>

namespace dfmcp {

namespace {

constexpr const char *kExamples = R"(
Examples:
  # Try it with no DataFast account: the built-in sandbox, read-only analytics ceiling
  datafast-mcp --sandbox --permissions analytics:read,websites:read \
               --websites 65a1b2c3d4e5f60718293a01

  # Serve a real account; the parent token comes from the environment only
  DATAFAST_TOKEN=dft_... datafast-mcp --config ~/.config/datafast-mcp.json

  # A small shared service over Streamable HTTP; clients send Authorization: Bearer $MCP_TOKEN
  MCP_TOKEN=$(openssl rand -hex 32) DATAFAST_TOKEN=dft_... \
    datafast-mcp --config cfg.json --http 127.0.0.1:8787 --auth-token-env MCP_TOKEN

  # Check a configuration and see every effective value and where it came from
  datafast-mcp check --config ~/.config/datafast-mcp.json

Environment:
  DATAFAST_TOKEN     the parent dft_ account token (another name: upstream.tokenEnv, --token-env)
  DATAFAST_API_URL   overrides upstream.baseUrl (a flag overrides it)
  DATAFAST_CA_FILE   overrides upstream.caFile (a flag overrides it)
  (HTTP clients' bearer tokens: the variables named by http.authTokenEnv and http.clients[].tokenEnv)

Exit codes: 0 success, 1 runtime failure, 2 configuration or usage error.
)";

// The options shared by the serving command and `check`, bound to one set of variables so either
// position works (`datafast-mcp --config f check` and `datafast-mcp check --config f`).
struct Values {
  std::string config_path, websites, upstream_url, token_env, ca_file, log_level;
  std::string http_listen, http_path, auth_token_env, allowed_origins, allowed_hosts;
  std::vector<std::string> permissions;
  long long timeout_ms = 0;
  bool sandbox = false;
};

struct Bound {
  std::vector<CLI::Option *> config_path, websites, upstream_url, token_env, ca_file, log_level,
      permissions, timeout_ms, http_listen, http_path, auth_token_env, allowed_origins, allowed_hosts;
};

void add_options(CLI::App &app, Values &v, Bound &b) {
  b.config_path.push_back(app.add_option("-c,--config", v.config_path,
                                         "JSON config file (schema: schemas/config.schema.json)")
                              ->type_name("FILE"));
  app.add_flag("--sandbox", v.sandbox,
               "Serve against the built-in sandbox account (an HTTPS server on loopback); no "
               "DataFast token needed");
  b.permissions.push_back(app.add_option("--permissions", v.permissions,
                                         "Ceiling: permissions minted tokens may carry, comma "
                                         "separated, or * (overrides ceiling.permissions)")
                              ->delimiter(',')
                              ->type_name("LIST"));
  b.websites.push_back(app.add_option("--websites", v.websites,
                                      "Ceiling: website ids minted tokens may cover, comma "
                                      "separated, or * for all (overrides ceiling.websiteIds)")
                           ->type_name("LIST|*"));
  b.upstream_url.push_back(app.add_option("--upstream-url", v.upstream_url,
                                          "DataFast Account API base URL (https only; default "
                                          "https://datafa.st/api/v1/admin)")
                               ->type_name("URL"));
  b.token_env.push_back(app.add_option("--token-env", v.token_env,
                                       "Environment variable holding the parent dft_ token "
                                       "(default DATAFAST_TOKEN)")
                            ->type_name("NAME"));
  b.ca_file.push_back(app.add_option("--ca-file", v.ca_file,
                                     "PEM file of CAs to trust for the upstream instead of the "
                                     "system store")
                          ->type_name("FILE"));
  b.timeout_ms.push_back(app.add_option("--timeout-ms", v.timeout_ms,
                                        "Deadline of one upstream request (default 15000)")
                             ->type_name("MS"));
  b.http_listen.push_back(app.add_option("--http", v.http_listen,
                                         "Serve MCP over Streamable HTTP on HOST:PORT (or PORT, on "
                                         "127.0.0.1) instead of stdio; port 0 picks a free one")
                              ->type_name("[HOST:]PORT"));
  b.http_path.push_back(app.add_option("--http-path", v.http_path, "HTTP endpoint path (default /mcp)")
                            ->type_name("PATH"));
  b.auth_token_env.push_back(app.add_option("--auth-token-env", v.auth_token_env,
                                            "Environment variable holding the bearer token HTTP "
                                            "clients must send (required off loopback)")
                                 ->type_name("NAME"));
  b.allowed_origins.push_back(app.add_option("--allowed-origins", v.allowed_origins,
                                             "Browser origins allowed to call the HTTP endpoint, "
                                             "comma separated (no wildcard)")
                                  ->type_name("LIST"));
  b.allowed_hosts.push_back(app.add_option("--allowed-hosts", v.allowed_hosts,
                                           "Host header values accepted besides the loopback names, "
                                           "comma separated")
                                ->type_name("LIST"));
  b.log_level.push_back(app.add_option("--log-level", v.log_level,
                                       "trace, debug, info (default), warn, error or off; logs go "
                                       "to stderr")
                            ->type_name("LEVEL"));
}

bool given(const std::vector<CLI::Option *> &options) {
  for (const CLI::Option *o : options)
    if (o->count() > 0)
      return true;
  return false;
}

} // namespace

std::string version_text() {
  std::string versions;
  for (std::string_view v : mcp::kProtocolVersions)
    versions += (versions.empty() ? "" : ", ") + std::string(v);
  return std::string("datafast-mcp ") + DFMCP_VERSION + " (MCP protocol " + versions + ")";
}

Expected<CliRequest, CliExit> parse_cli(int argc, const char *const *argv) {
  CLI::App app("datafast-mcp: an MCP server that lets AI agents list, create and revoke DataFast "
               "account tokens, never beyond a configured ceiling. Serves MCP over stdio, or Streamable HTTP "
               "with --http.",
               "datafast-mcp");
  app.footer(kExamples);
  app.set_version_flag("-V,--version", version_text());
  Values v;
  Bound b;
  add_options(app, v, b);
  CLI::App *check = app.add_subcommand(
      "check", "Validate the configuration, print each effective value and where it came from, "
               "and the ceiling; exit 2 on any problem");
  check->footer("\nExample:\n  datafast-mcp check --config ~/.config/datafast-mcp.json\n");
  add_options(*check, v, b);
  SandboxOptions sandbox_options;
  CLI::App *sandbox = app.add_subcommand(
      "sandbox", "Serve only the built-in sandbox DataFast account over HTTPS on loopback (for "
                 "benchmarks and other clients); prints one JSON line with its URL and files, then "
                 "serves until SIGTERM");
  sandbox->add_option("--listen", sandbox_options.listen, "HOST:PORT (default 127.0.0.1:0, a free port)")
      ->type_name("HOST:PORT");
  sandbox->add_option("--ca-out", sandbox_options.ca_out, "Write the sandbox CA certificate (PEM) here")
      ->type_name("FILE")
      ->required();
  sandbox->add_option("--token-out", sandbox_options.token_out,
                      "Write the sandbox parent token here (mode 0600)")
      ->type_name("FILE")
      ->required();
  sandbox->footer("\nExample:\n  datafast-mcp sandbox --ca-out /tmp/sb-ca.pem --token-out /tmp/sb-token\n"
                  "  # prints {\"baseUrl\":\"https://127.0.0.1:PORT/api/v1/admin\",...}; then\n"
                  "  DATAFAST_TOKEN=$(cat /tmp/sb-token) datafast-mcp --upstream-url URL --ca-file /tmp/sb-ca.pem ...\n");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    if (code == 0)
      return unexpected(CliExit{0, out.str(), err.str()});
    std::string what = e.what();
    return unexpected(CliExit{2, "", "datafast-mcp: usage error: " + what +
                                         "; run datafast-mcp --help\n"});
  }

  CliRequest req;
  req.command = check->parsed() ? Command::Check : sandbox->parsed() ? Command::Sandbox : Command::Serve;
  req.sandbox = sandbox_options;
  config::Options &o = req.options;
  o.sandbox = v.sandbox;
  if (given(b.config_path)) o.config_path = v.config_path;
  if (given(b.permissions)) o.permissions = v.permissions;
  if (given(b.websites)) o.websites = v.websites;
  if (given(b.upstream_url)) o.upstream_url = v.upstream_url;
  if (given(b.token_env)) o.token_env = v.token_env;
  if (given(b.ca_file)) o.ca_file = v.ca_file;
  if (given(b.timeout_ms)) o.timeout_ms = v.timeout_ms;
  if (given(b.log_level)) o.log_level = v.log_level;
  if (given(b.http_listen)) o.http_listen = v.http_listen;
  if (given(b.http_path)) o.http_path = v.http_path;
  if (given(b.auth_token_env)) o.auth_token_env = v.auth_token_env;
  if (given(b.allowed_origins)) o.allowed_origins = v.allowed_origins;
  if (given(b.allowed_hosts)) o.allowed_hosts = v.allowed_hosts;
  return req;
}

} // namespace dfmcp
