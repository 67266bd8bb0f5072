// Configuration: a JSON file (schemas/config.schema.json), the environment and command-line flags,
// merged with flags > environment > file > defaults. Every effective value remembers where it came
// from (for `check`). Loading validates everything; a problem is one ConfigError naming the key.
#pragma once

#include "policy/ceiling.hpp"
#include "secret.hpp"
#include "util/expected.hpp"
#include "util/url.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::config {

inline constexpr const char *kDefaultBaseUrl = "https://datafa.st/api/v1/admin";
inline constexpr const char *kDefaultTokenEnv = "DATAFAST_TOKEN";
inline constexpr int kDefaultTimeoutMs = 15000;
inline constexpr const char *kUrlEnv = "DATAFAST_API_URL";
inline constexpr const char *kCaFileEnv = "DATAFAST_CA_FILE";

enum class Source { Default, File, Env, Flag, Sandbox };

struct Origin {
  Source source = Source::Default;
  std::string name; // the file path, environment variable or flag
  std::string describe() const; // "default", "config file x.json", "env DATAFAST_API_URL", "flag --x"
};

template <typename T> struct Setting {
  T value{};
  Origin origin;
};

// An HTTP client with its own bearer token and its own ceiling (within the server's).
struct HttpClient {
  std::string name;
  std::string token_env;
  Secret token;
  policy::Ceiling ceiling;
};

// Streamable HTTP transport (enabled by http.listen or --http).
struct HttpConfig {
  bool enabled = false;
  Setting<std::string> listen;
  std::string host; // as given: "127.0.0.1", "localhost", "::1", "0.0.0.0", a name
  int port = 0;
  bool loopback = true;
  Setting<std::string> path;
  Setting<std::optional<std::string>> auth_token_env;
  Secret auth_token; // the default client's token, when auth_token_env is set
  Setting<std::vector<std::string>> allowed_origins;
  Setting<std::vector<std::string>> allowed_hosts;
  std::vector<HttpClient> clients;
  int max_sessions = 1000;
  int session_idle_timeout_ms = 30 * 60 * 1000;
  int max_body_bytes = 1024 * 1024;
  int workers = 16;
  int max_connections = 4096;
  // One peer address may hold this many connections, so one client (or one attacker) cannot take
  // them all. Unset: 256, or a quarter of maxConnections when that is smaller (at least 1).
  int max_connections_per_address = 0;
};

// Agent-safety settings (keys, lineage, quotas, confirmation, audit).
struct SafetyConfig {
  Setting<std::string> keys_delivery{"result", {}};       // "result" | "file"
  Setting<std::optional<std::string>> keys_dir{{}, {}};
  Setting<std::string> name_prefix{"", {}};
  Setting<std::optional<std::string>> ledger_file{{}, {}};
  Setting<std::string> revoke_scope{"ceiling", {}};       // "ceiling" | "minted"
  Setting<std::optional<int>> max_creates_per_hour{{}, {}};
  Setting<std::optional<int>> max_live_minted{{}, {}};
  Setting<std::string> confirm{"never", {}};              // "never" | "writes" | "always"
  Setting<std::optional<std::string>> audit_file{{}, {}};
  Setting<int> scope_ttl_ms{5 * 60 * 1000, {}};
};

using Env = std::function<std::optional<std::string>(const std::string &name)>;

// What the command line said; unset means "not given".
struct Options {
  std::optional<std::string> config_path;
  bool sandbox = false;
  std::optional<std::vector<std::string>> permissions;
  std::optional<std::string> websites; // "*" or comma-separated ids and domains (an entry with a '.')
  std::optional<std::string> upstream_url;
  std::optional<std::string> token_env;
  std::optional<std::string> ca_file;
  std::optional<long long> timeout_ms;
  std::optional<std::string> log_level;
  std::optional<std::string> http_listen;
  std::optional<std::string> http_path;
  std::optional<std::string> auth_token_env;
  std::optional<std::string> allowed_origins; // comma-separated
  std::optional<std::string> allowed_hosts;   // comma-separated
  std::optional<std::string> keys_delivery;
  std::optional<std::string> keys_dir;
  std::optional<std::string> name_prefix;
  std::optional<std::string> ledger_file;
  std::optional<std::string> revoke_scope;
  std::optional<long long> max_creates_per_hour;
  std::optional<long long> max_live_minted;
  std::optional<std::string> confirm;
  std::optional<std::string> audit_file;
  std::optional<long long> scope_ttl_ms;
  std::optional<std::string> log_format;
  std::optional<bool> read_only;
  std::optional<std::string> tools; // comma-separated tool names

  // Set by apply_env (load_text calls it): flag -> the DATAFAST_MCP_* variable its value came from.
  std::map<std::string, std::string> env_names;
  // Where the value given for `flag` came from: the flag, or the variable that stood in for it.
  Origin origin_of(const char *flag) const;
};

// Which tools are served (tools.readOnly, tools.enabled; --read-only, --tools).
struct ToolsConfig {
  Setting<bool> read_only{false, {}};
  Setting<std::optional<std::vector<std::string>>> enabled{{}, {}}; // nullopt: every tool
  std::vector<std::string> on; // the tools served, sorted: enabled (or all) and, if read_only,
                               // only those annotated readOnlyHint
};

struct Config {
  std::optional<std::string> config_path;
  bool sandbox = false;
  Setting<std::string> base_url;
  HttpsUrl upstream;
  Setting<std::string> token_env;
  Setting<std::optional<std::string>> ca_file;
  Setting<int> timeout_ms;
  Setting<std::vector<std::string>> permissions;
  Setting<std::optional<std::vector<std::string>>> website_ids; // nullopt means "*"
  // Ceiling websites named by domain (ceiling.websites, or --websites entries with a '.'): resolved
  // to ids once at start against the parent token's website list (app.cpp), which then adds them to
  // `ceiling`. Until then `ceiling` holds only the ids given as ids.
  Setting<std::vector<std::string>> website_domains;
  std::vector<std::pair<std::string, std::string>> resolved_domains; // (domain, id), for `check`
  Setting<std::string> log_level;
  Setting<std::string> log_format; // "text" | "json"
  policy::Ceiling ceiling;
  Secret token; // the parent token; empty in sandbox mode (the sandbox brings its own)
  HttpConfig http;
  SafetyConfig safety;
  ToolsConfig tools;
  // The ceiling was not given and --sandbox supplied the demo one (announced at start-up).
  bool demo_ceiling = false;
};

struct ConfigError {
  std::string key;     // "ceiling.websiteIds", "--permissions", "DATAFAST_TOKEN"
  std::string message; // what is wrong and what would be right
  std::string where;   // the config file, when the key came from it
  std::string to_string() const;
};

Env process_env();

// The environment layer: each setting with a flag may also come from DATAFAST_MCP_<SETTING>
// (the flag's name in capitals, '-' as '_'), with the flag's syntax. An empty variable counts as
// unset. Precedence: flag > variable > config file > default.
struct EnvSetting {
  const char *variable; // "DATAFAST_MCP_PERMISSIONS"
  const char *flag;     // "--permissions"
};
const std::vector<EnvSetting> &env_settings();
// Fills what the flags left unset from the environment; a malformed value names the variable.
Expected<Options, ConfigError> apply_env(Options options, const Env &env);

Expected<Config, ConfigError> load(const Options &options, const Env &env);
// Prepares what the configuration names on disk (the keys directory: created 0700, refused if
// others can access it). Separate from load(), which only reads.
Expected<Ok, ConfigError> prepare_files(const Config &config);
// Loads the CA file the way OpenSSL will on the first connection (load() only looks at it, which
// is cheap; this initialises OpenSSL's decoders). `check` calls it.
Expected<Ok, ConfigError> verify_ca_file(const Config &config);

// The same, from the config file's text (nullopt: no file); `options.config_path` names it.
Expected<Config, ConfigError> load_text(const std::optional<std::string> &text, const Options &options,
                                        const Env &env);

inline constexpr const char *kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

} // namespace dfmcp::config
