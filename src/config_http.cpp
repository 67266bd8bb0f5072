#include "config_http.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

namespace dfmcp::config {

namespace {

ConfigError error(const Origin &origin, const std::string &file_key, std::string message,
                  const std::string &where) {
  bool from_file = origin.source == Source::File;
  return ConfigError{from_file ? file_key : origin.name, std::move(message), from_file ? where : ""};
}

std::vector<std::string> split_commas(const std::string &text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

bool valid_env_name(const std::string &name) {
  return !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

constexpr std::size_t kMinAuthTokenLength = 16;

// A bearer token for clients of this server, from the environment.
Expected<Secret, std::string> read_client_token(const Env &env, const std::string &var) {
  auto value = env(var);
  if (!value || value->empty())
    return unexpected("not set; export the bearer token clients must present in " + var);
  if (value->size() < kMinAuthTokenLength)
    return unexpected("is shorter than " + std::to_string(kMinAuthTokenLength) +
                      " characters; use a long random value (e.g. openssl rand -hex 32)");
  bool printable = std::all_of(value->begin(), value->end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (!printable)
    return unexpected(std::string("must be visible ASCII without spaces (it travels in a header)"));
  return Secret(*value);
}

// Accepts "scheme://host[:port]" (no path) for allowedOrigins.
bool valid_origin(const std::string &o) {
  std::size_t sep = o.find("://");
  if (sep == std::string::npos || sep == 0)
    return false;
  std::string rest = o.substr(sep + 3);
  return !rest.empty() && rest.find('/') == std::string::npos && rest.find('*') == std::string::npos &&
         std::all_of(o.begin(), o.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

struct IntKey {
  const char *key;
  int *slot;
  long long min, max;
};

} // namespace

bool is_loopback_host(const std::string &host) {
  if (host == "localhost" || host == "::1")
    return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1)
    return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

Expected<std::pair<std::string, int>, std::string> parse_listen(const std::string &text) {
  std::string host;
  std::string port;
  if (text.starts_with("[")) {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return unexpected("'" + text + "' is not HOST:PORT ([::1]:8787 for IPv6)");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    host = "127.0.0.1"; // a bare port: the safe default bind
    port = text;
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      return unexpected("'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:8787)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value < 0 || value > 65535)
    return unexpected("'" + text + "' is not HOST:PORT with a port from 0 to 65535");
  return std::pair{host, value};
}

Expected<HttpConfig, ConfigError> load_http(const json *section, const Options &options,
                                            const Env &env, const policy::Ceiling &server_ceiling,
                                            const std::string &where) {
  HttpConfig http;
  const Origin from_file{Source::File, where};
  auto fail = [&](const Origin &origin, const std::string &key, std::string message) {
    return unexpected(error(origin, key, std::move(message), where));
  };
  auto file_fail = [&](const std::string &key, std::string message) {
    return unexpected(ConfigError{key, std::move(message), where});
  };

  static const std::vector<std::string> kKeys = {
      "listen",      "path",         "authTokenEnv", "allowedOrigins", "allowedHosts", "clients",
      "maxSessions", "sessionIdleTimeoutMs", "maxBodyBytes", "workers", "maxConnections",
      "maxConnectionsPerAddress"};
  json empty = json::object();
  const json &h = section ? *section : empty;
  if (section && !section->is_object())
    return file_fail("http", "must be an object, got " + json_type_name(*section));
  for (const auto &[key, value] : h.items())
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      std::string known;
      for (const std::string &k : kKeys)
        known += (known.empty() ? "" : ", ") + k;
      return file_fail("http." + key, "unknown key (known: " + known + ")");
    }
  auto file_string = [&](const char *key) -> Expected<std::optional<std::string>, ConfigError> {
    auto it = h.find(key);
    if (it == h.end())
      return std::optional<std::string>{};
    if (!it->is_string())
      return unexpected(ConfigError{std::string("http.") + key, "must be a string, got " + json_type_name(*it), where});
    return std::optional<std::string>{it->get<std::string>()};
  };
  auto file_strings = [&](const char *key) -> Expected<std::optional<std::vector<std::string>>, ConfigError> {
    auto it = h.find(key);
    if (it == h.end())
      return std::optional<std::vector<std::string>>{};
    if (!it->is_array())
      return unexpected(ConfigError{std::string("http.") + key, "must be a list of strings, got " + json_type_name(*it), where});
    std::vector<std::string> out;
    for (std::size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string())
        return unexpected(ConfigError{std::string("http.") + key + "[" + std::to_string(i) + "]",
                                      "must be a string, got " + json_type_name((*it)[i]), where});
      out.push_back((*it)[i].get<std::string>());
    }
    return std::optional<std::vector<std::string>>{out};
  };

  // listen: flag > file. Present means the HTTP transport is on.
  auto listen = file_string("listen");
  if (!listen)
    return unexpected(listen.error());
  if (*listen)
    http.listen = {**listen, from_file};
  if (options.http_listen)
    http.listen = {*options.http_listen, options.origin_of("--http")};
  http.enabled = !http.listen.value.empty();
  if (!http.enabled) {
    if (section)
      return file_fail("http.listen", "required when the http section is present (e.g. \"127.0.0.1:8787\")");
    return http;
  }
  auto hp = parse_listen(http.listen.value);
  if (!hp)
    return fail(http.listen.origin, "http.listen", hp.error());
  http.host = hp->first;
  http.port = hp->second;
  http.loopback = is_loopback_host(http.host);

  auto path = file_string("path");
  if (!path)
    return unexpected(path.error());
  http.path = {"/mcp", {}};
  if (*path)
    http.path = {**path, from_file};
  if (options.http_path)
    http.path = {*options.http_path, options.origin_of("--http-path")};
  const std::string &p = http.path.value;
  if (!p.starts_with("/") || p.size() > 256 || p.find_first_of("?# \t") != std::string::npos)
    return fail(http.path.origin, "http.path", "'" + p + "' must be a path starting with / (no query)");

  auto token_env = file_string("authTokenEnv");
  if (!token_env)
    return unexpected(token_env.error());
  http.auth_token_env = {std::nullopt, {}};
  if (*token_env)
    http.auth_token_env = {**token_env, from_file};
  if (options.auth_token_env)
    http.auth_token_env = {*options.auth_token_env, options.origin_of("--auth-token-env")};
  if (http.auth_token_env.value) {
    const std::string &var = *http.auth_token_env.value;
    if (!valid_env_name(var))
      return fail(http.auth_token_env.origin, "http.authTokenEnv", "'" + var + "' is not an environment variable name");
    auto token = read_client_token(env, var);
    if (!token)
      return unexpected(ConfigError{var, token.error(), ""});
    http.auth_token = std::move(*token);
  }

  for (auto [key, flag, slot, flag_value] :
       {std::tuple{"allowedOrigins", "--allowed-origins", &http.allowed_origins, options.allowed_origins},
        std::tuple{"allowedHosts", "--allowed-hosts", &http.allowed_hosts, options.allowed_hosts}}) {
    auto list = file_strings(key);
    if (!list)
      return unexpected(list.error());
    *slot = {{}, {}};
    if (*list)
      *slot = {**list, from_file};
    if (flag_value)
      *slot = {split_commas(*flag_value), options.origin_of(flag)};
  }
  for (std::size_t i = 0; i < http.allowed_origins.value.size(); ++i) {
    const std::string &o = http.allowed_origins.value[i];
    if (o == "*")
      return fail(http.allowed_origins.origin, "http.allowedOrigins[" + std::to_string(i) + "]",
                  "'*' is not allowed: list each origin (scheme://host[:port]) that may call the server");
    if (!valid_origin(o))
      return fail(http.allowed_origins.origin, "http.allowedOrigins[" + std::to_string(i) + "]",
                  "'" + o + "' is not an origin (scheme://host[:port], no path)");
  }
  for (std::size_t i = 0; i < http.allowed_hosts.value.size(); ++i) {
    const std::string &hv = http.allowed_hosts.value[i];
    if (hv.empty() || hv.find_first_of(" /\t*") != std::string::npos)
      return fail(http.allowed_hosts.origin, "http.allowedHosts[" + std::to_string(i) + "]",
                  "'" + hv + "' is not a Host value (host or host:port)");
  }

  IntKey ints[] = {{"maxSessions", &http.max_sessions, 1, 1000000},
                   {"sessionIdleTimeoutMs", &http.session_idle_timeout_ms, 1000, 7 * 86400 * 1000LL},
                   {"maxBodyBytes", &http.max_body_bytes, 1024, 64 * 1024 * 1024},
                   {"workers", &http.workers, 1, 1024},
                   {"maxConnections", &http.max_connections, 16, 1000000},
                   {"maxConnectionsPerAddress", &http.max_connections_per_address, 1, 1000000}};
  for (const IntKey &k : ints) {
    auto it = h.find(k.key);
    if (it == h.end())
      continue;
    bool in_range = it->is_number_integer() && !(it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(k.max)) &&
                    it->get<long long>() >= k.min && it->get<long long>() <= k.max;
    if (!in_range)
      return file_fail(std::string("http.") + k.key, "must be an integer from " + std::to_string(k.min) +
                                                         " to " + std::to_string(k.max) + ", got " +
                                                         dump_json(*it));
    *k.slot = static_cast<int>(it->get<long long>());
  }

  if (http.max_connections_per_address == 0)
    http.max_connections_per_address = std::max(1, std::min(256, http.max_connections / 4));

  // Clients, each with its own token and a ceiling within the server's.
  if (auto it = h.find("clients"); it != h.end()) {
    if (!it->is_array())
      return file_fail("http.clients", "must be a list of clients, got " + json_type_name(*it));
    std::set<std::string> names;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json &c = (*it)[i];
      std::string at = "http.clients[" + std::to_string(i) + "]";
      if (!c.is_object())
        return file_fail(at, "must be an object {name, tokenEnv, ceiling}");
      for (const auto &[key, value] : c.items())
        if (key != "name" && key != "tokenEnv" && key != "ceiling")
          return file_fail(at + "." + key, "unknown key (known: name, tokenEnv, ceiling)");
      for (const char *key : {"name", "tokenEnv"})
        if (!c.contains(key) || !c[key].is_string())
          return file_fail(at + "." + key, "required (a string)");
      HttpClient client;
      client.name = c["name"].get<std::string>();
      client.token_env = c["tokenEnv"].get<std::string>();
      bool name_ok = !client.name.empty() && client.name.size() <= 64 &&
                     std::all_of(client.name.begin(), client.name.end(), [](char ch) {
                       return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
                     });
      if (!name_ok)
        return file_fail(at + ".name", "'" + client.name + "' must be 1 to 64 letters, digits, '-', '_' or '.'");
      if (!names.insert(client.name).second)
        return file_fail(at + ".name", "'" + client.name + "' names two clients");
      if (!valid_env_name(client.token_env))
        return file_fail(at + ".tokenEnv", "'" + client.token_env + "' is not an environment variable name");
      auto token = read_client_token(env, client.token_env);
      if (!token)
        return unexpected(ConfigError{client.token_env, token.error() + " (client '" + client.name + "')", ""});
      client.token = std::move(*token);

      if (!c.contains("ceiling") || !c["ceiling"].is_object())
        return file_fail(at + ".ceiling", "required: {\"permissions\": [...], \"websiteIds\": [...] or \"*\"}");
      const json &cc = c["ceiling"];
      for (const auto &[key, value] : cc.items())
        if (key != "permissions" && key != "websiteIds")
          return file_fail(at + ".ceiling." + key, "unknown key (known: permissions, websiteIds)");
      policy::CeilingSpec spec;
      if (!cc.contains("permissions") || !cc["permissions"].is_array())
        return file_fail(at + ".ceiling.permissions", "required: a list of permissions (or [\"*\"])");
      for (std::size_t k = 0; k < cc["permissions"].size(); ++k) {
        const json &perm = cc["permissions"][k];
        if (!perm.is_string())
          return file_fail(at + ".ceiling.permissions[" + std::to_string(k) + "]", "must be a string");
        spec.permissions.push_back(perm.get<std::string>());
      }
      if (!cc.contains("websiteIds"))
        return file_fail(at + ".ceiling.websiteIds", "required: a list of website ids or \"*\"");
      const json &w = cc["websiteIds"];
      if (w.is_array()) {
        std::vector<std::string> ids;
        for (std::size_t k = 0; k < w.size(); ++k) {
          if (!w[k].is_string())
            return file_fail(at + ".ceiling.websiteIds[" + std::to_string(k) + "]", "must be a string");
          ids.push_back(w[k].get<std::string>());
        }
        spec.website_ids = std::move(ids);
      } else if (!(w.is_string() && w == "*")) {
        return file_fail(at + ".ceiling.websiteIds", "must be a list of website ids or \"*\"");
      }
      auto ceiling = policy::make_ceiling(spec);
      if (!ceiling) {
        const policy::Refusal &r = ceiling.error().front();
        std::string field = r.field;
        if (auto slash = field.find('/'); slash != std::string::npos)
          field = field.substr(0, slash) + "[" + field.substr(slash + 1) + "]";
        return file_fail(at + ".ceiling." + field, r.message);
      }
      std::vector<std::string> beyond = policy::ceiling_beyond(*ceiling, server_ceiling);
      if (!beyond.empty())
        return file_fail(at + ".ceiling", "goes beyond the server's ceiling: " + policy::join(beyond, ", ") +
                                              "; a client's ceiling must lie within permissions " +
                                              server_ceiling.permissions.describe() + " and websites " +
                                              server_ceiling.websites.describe());
      client.ceiling = std::move(*ceiling);
      http.clients.push_back(std::move(client));
    }
  }

  // Every token must identify one client.
  std::vector<std::pair<std::string, const Secret *>> tokens;
  if (http.auth_token_env.value)
    tokens.emplace_back(*http.auth_token_env.value, &http.auth_token);
  for (const HttpClient &c : http.clients)
    tokens.emplace_back(c.token_env, &c.token);
  for (std::size_t a = 0; a < tokens.size(); ++a)
    for (std::size_t b = a + 1; b < tokens.size(); ++b)
      if (constant_time_equal(tokens[a].second->reveal(), tokens[b].second->reveal()))
        return unexpected(ConfigError{tokens[b].first, "holds the same token as " + tokens[a].first +
                                                           "; each client needs its own", ""});

  if (!http.loopback && tokens.empty())
    return fail(http.listen.origin, "http.listen",
                "'" + http.listen.value + "' is not a loopback address, so clients must authenticate: "
                "set http.authTokenEnv (or --auth-token-env) or http.clients; without auth the server "
                "may listen only on 127.0.0.1, ::1 or localhost");
  return http;
}

} // namespace dfmcp::config
