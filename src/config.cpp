#include "config.hpp"

#include "config_http.hpp"
#include "config_safety.hpp"
#include "sandbox/account.hpp"
#include "tools/schemas.hpp"
#include "upstream/http_client.hpp"
#include "util/json_input.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <variant>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace dfmcp::config {

namespace {

constexpr std::size_t kMaxConfigBytes = 1u << 20;

// Edit distance, for "did you mean" on unknown keys.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t prev = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cur = row[j];
      auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

struct FileError {
  std::string key;
  std::string message;
};

// Rejects keys of `object` outside `known`, naming the closest known key.
std::optional<FileError> check_keys(const json &object, const std::string &prefix,
                                    const std::vector<std::string> &known) {
  for (const auto &[key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end())
      continue;
    std::string msg = "unknown key";
    std::string best;
    std::size_t best_d = 3;
    for (const std::string &k : known)
      if (std::size_t d = distance(key, k); d < best_d)
        best_d = d, best = k;
    if (!best.empty())
      msg += "; did you mean '" + best + "'?";
    std::string list;
    for (const std::string &k : known)
      list += (list.empty() ? "" : ", ") + k;
    msg += " (known: " + list + ")";
    return FileError{prefix + key, msg};
  }
  return std::nullopt;
}

std::string quoted_type(const json &v) {
  std::string dumped = dump_json(v);
  if (dumped.size() > 60)
    dumped = dumped.substr(0, 57) + "...";
  return json_type_name(v) + " " + dumped;
}

// The parts of the config file, type-checked; values are still raw.
struct FileValues {
  std::optional<std::string> base_url, token_env, ca_file, log_level;
  std::optional<long long> timeout_ms;
  std::optional<std::vector<std::string>> permissions;
  bool websites_given = false;
  std::optional<std::vector<std::string>> website_ids; // nullopt with websites_given means "*"
  std::optional<std::vector<std::string>> website_domains; // ceiling.websites
  bool has_ceiling = false;
  std::optional<json> http; // read by load_http
  std::optional<json> keys, mint, revoke, limits, confirm; // read by load_safety
  std::optional<json> tools;                               // read by load_tools
  std::optional<std::string> audit_file, log_format;
  std::optional<long long> scope_ttl_ms;
};

Expected<FileValues, FileError> read_file_values(const json &root) {
  FileValues out;
  if (!root.is_object())
    return unexpected(FileError{"(top level)", "must be a JSON object, got " + json_type_name(root)});
  if (auto e = check_keys(root, "", {"$schema", "upstream", "ceiling", "logging", "http", "keys", "mint", "revoke",
                                     "limits", "confirm", "tools"}))
    return unexpected(*e);

  auto object_at = [&](const char *key) -> Expected<const json *, FileError> {
    auto it = root.find(key);
    if (it == root.end())
      return static_cast<const json *>(nullptr);
    if (!it->is_object())
      return unexpected(FileError{key, "must be an object, got " + quoted_type(*it)});
    return &*it;
  };
  auto string_at = [](const json &obj, const std::string &path,
                      const char *key) -> Expected<std::optional<std::string>, FileError> {
    auto it = obj.find(key);
    if (it == obj.end())
      return std::optional<std::string>{};
    if (!it->is_string())
      return unexpected(FileError{path + key, "must be a string, got " + quoted_type(*it)});
    return std::optional<std::string>{it->get<std::string>()};
  };

  if (auto s = root.find("$schema"); s != root.end() && !s->is_string())
    return unexpected(FileError{"$schema", "must be a string, got " + quoted_type(*s)});

  auto upstream = object_at("upstream");
  if (!upstream)
    return unexpected(upstream.error());
  if (const json *u = *upstream) {
    if (auto e = check_keys(*u, "upstream.", {"baseUrl", "tokenEnv", "caFile", "timeoutMs", "scopeTtlMs"}))
      return unexpected(*e);
    for (auto [key, slot] : {std::pair{"baseUrl", &out.base_url}, std::pair{"tokenEnv", &out.token_env},
                             std::pair{"caFile", &out.ca_file}}) {
      auto v = string_at(*u, "upstream.", key);
      if (!v)
        return unexpected(v.error());
      *slot = *v;
    }
    if (auto t = u->find("timeoutMs"); t != u->end()) {
      if (!t->is_number_integer())
        return unexpected(FileError{"upstream.timeoutMs", "must be an integer (milliseconds), got " +
                                                              quoted_type(*t)});
      // An unsigned value past long long's range would wrap; any such value is out of range.
      out.timeout_ms = t->is_number_unsigned() && t->get<std::uint64_t>() > 600000
                           ? 600001
                           : t->get<long long>();
    }
    if (auto t = u->find("scopeTtlMs"); t != u->end()) {
      if (!t->is_number_integer())
        return unexpected(FileError{"upstream.scopeTtlMs", "must be an integer (milliseconds), got " + quoted_type(*t)});
      out.scope_ttl_ms = t->is_number_unsigned() && t->get<std::uint64_t>() > 86400000 ? -1 : t->get<long long>();
    }
  }

  auto ceiling = object_at("ceiling");
  if (!ceiling)
    return unexpected(ceiling.error());
  if (const json *c = *ceiling) {
    out.has_ceiling = true;
    if (auto e = check_keys(*c, "ceiling.", {"permissions", "websiteIds", "websites"}))
      return unexpected(*e);
    if (auto p = c->find("permissions"); p != c->end()) {
      if (!p->is_array())
        return unexpected(FileError{"ceiling.permissions",
                                    "must be a list of permissions (or [\"*\"]), got " + quoted_type(*p)});
      std::vector<std::string> perms;
      for (std::size_t i = 0; i < p->size(); ++i) {
        const json &item = (*p)[i];
        if (!item.is_string())
          return unexpected(FileError{"ceiling.permissions[" + std::to_string(i) + "]",
                                      "must be a string, got " + quoted_type(item)});
        perms.push_back(item.get<std::string>());
      }
      out.permissions = std::move(perms);
    }
    if (auto w = c->find("websiteIds"); w != c->end()) {
      out.websites_given = true;
      if (w->is_string()) {
        if (*w != "*")
          return unexpected(FileError{"ceiling.websiteIds",
                                      "must be a list of website ids or the string \"*\" (all "
                                      "websites), got " + quoted_type(*w)});
      } else if (w->is_array()) {
        std::vector<std::string> ids;
        for (std::size_t i = 0; i < w->size(); ++i) {
          const json &item = (*w)[i];
          if (!item.is_string())
            return unexpected(FileError{"ceiling.websiteIds[" + std::to_string(i) + "]",
                                        "must be a string, got " + quoted_type(item)});
          ids.push_back(item.get<std::string>());
        }
        out.website_ids = std::move(ids);
      } else {
        return unexpected(FileError{"ceiling.websiteIds",
                                    "must be a list of website ids or \"*\", got " + quoted_type(*w)});
      }
    }
  }

  if (const json *c = *ceiling; c != nullptr) {
    if (auto w = c->find("websites"); w != c->end()) {
      if (!w->is_array() || w->empty())
        return unexpected(FileError{"ceiling.websites",
                                    "must be a non-empty list of website domains, e.g. [\"example.com\"], got " +
                                        quoted_type(*w)});
      std::vector<std::string> domains;
      for (std::size_t i = 0; i < w->size(); ++i) {
        const json &item = (*w)[i];
        if (!item.is_string())
          return unexpected(FileError{"ceiling.websites[" + std::to_string(i) + "]",
                                      "must be a string (a domain), got " + quoted_type(item)});
        domains.push_back(item.get<std::string>());
      }
      if (out.websites_given && !out.website_ids)
        return unexpected(FileError{"ceiling.websites",
                                    "cannot be combined with websiteIds \"*\" (all websites already)"});
      out.website_domains = std::move(domains);
    }
  }

  auto logging = object_at("logging");
  if (!logging)
    return unexpected(logging.error());
  if (const json *l = *logging) {
    if (auto e = check_keys(*l, "logging.", {"level", "format", "auditFile"}))
      return unexpected(*e);
    auto v = string_at(*l, "logging.", "level");
    if (!v)
      return unexpected(v.error());
    out.log_level = *v;
    auto f = string_at(*l, "logging.", "format");
    if (!f)
      return unexpected(f.error());
    out.log_format = *f;
    auto a = string_at(*l, "logging.", "auditFile");
    if (!a)
      return unexpected(a.error());
    out.audit_file = *a;
  }
  for (auto [key, slot] : {std::pair{"keys", &out.keys}, std::pair{"mint", &out.mint}, std::pair{"revoke", &out.revoke},
                           std::pair{"limits", &out.limits}, std::pair{"confirm", &out.confirm}})
    if (auto it = root.find(key); it != root.end())
      *slot = *it;
  if (auto h = root.find("http"); h != root.end())
    out.http = *h;
  if (auto t = root.find("tools"); t != root.end())
    out.tools = *t;
  return out;
}

std::vector<std::string> split_commas(const std::string &text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ','))
    out.push_back(item);
  if (!text.empty() && text.back() == ',')
    out.emplace_back();
  return out;
}

// "permissions[1]" (from the policy) -> "ceiling.permissions[1]" or "--permissions".
std::string ceiling_key(const std::string &field, const Origin &perm_origin,
                        const Origin &site_origin) {
  bool is_perm = field.starts_with("permissions");
  const Origin &origin = is_perm ? perm_origin : site_origin;
  std::string rest = field.substr(is_perm ? 11 : 10); // "" or "/1"
  if (!rest.empty())
    rest = "[" + rest.substr(1) + "]";
  if (origin.source == Source::Flag || origin.source == Source::Env)
    return origin.name + (rest.empty() ? "" : " item " + rest.substr(1, rest.size() - 2));
  return std::string("ceiling.") + (is_perm ? "permissions" : "websiteIds") + rest;
}

// --sandbox with no ceiling: read-only analytics on two of the sandbox's three websites, so a
// demo shows both a grant and a refusal.
constexpr std::array<const char *, 2> kDemoPermissions = {"analytics:read", "websites:read"};
std::vector<std::string> demo_website_ids() {
  std::vector<std::string> ids = sandbox::Account::seeded_website_ids();
  ids.resize(std::min<std::size_t>(ids.size(), 2));
  return ids;
}

using StringField = std::optional<std::string> Options::*;
using IntField = std::optional<long long> Options::*;
using BoolField = std::optional<bool> Options::*;
using ListField = std::optional<std::vector<std::string>> Options::*;

struct EnvBinding {
  EnvSetting setting;
  std::variant<StringField, IntField, BoolField, ListField> field;
};

// The one table of DATAFAST_MCP_* variables (--help, the README and the man page list them).
const std::vector<EnvBinding> &env_bindings() {
  static const std::vector<EnvBinding> table = {
      {{"DATAFAST_MCP_PERMISSIONS", "--permissions"}, &Options::permissions},
      {{"DATAFAST_MCP_WEBSITES", "--websites"}, &Options::websites},
      {{"DATAFAST_MCP_READ_ONLY", "--read-only"}, &Options::read_only},
      {{"DATAFAST_MCP_TOOLS", "--tools"}, &Options::tools},
      {{"DATAFAST_MCP_TIMEOUT_MS", "--timeout-ms"}, &Options::timeout_ms},
      {{"DATAFAST_MCP_KEYS_DELIVERY", "--keys-delivery"}, &Options::keys_delivery},
      {{"DATAFAST_MCP_KEYS_DIR", "--keys-dir"}, &Options::keys_dir},
      {{"DATAFAST_MCP_NAME_PREFIX", "--name-prefix"}, &Options::name_prefix},
      {{"DATAFAST_MCP_LEDGER_FILE", "--ledger-file"}, &Options::ledger_file},
      {{"DATAFAST_MCP_REVOKE_SCOPE", "--revoke-scope"}, &Options::revoke_scope},
      {{"DATAFAST_MCP_MAX_CREATES_PER_HOUR", "--max-creates-per-hour"}, &Options::max_creates_per_hour},
      {{"DATAFAST_MCP_MAX_LIVE_MINTED", "--max-live-minted"}, &Options::max_live_minted},
      {{"DATAFAST_MCP_CONFIRM", "--confirm"}, &Options::confirm},
      {{"DATAFAST_MCP_AUDIT_FILE", "--audit-file"}, &Options::audit_file},
      {{"DATAFAST_MCP_SCOPE_TTL_MS", "--scope-ttl-ms"}, &Options::scope_ttl_ms},
      {{"DATAFAST_MCP_AUTH_TOKEN_ENV", "--auth-token-env"}, &Options::auth_token_env},
      {{"DATAFAST_MCP_ALLOWED_ORIGINS", "--allowed-origins"}, &Options::allowed_origins},
      {{"DATAFAST_MCP_ALLOWED_HOSTS", "--allowed-hosts"}, &Options::allowed_hosts},
      {{"DATAFAST_MCP_LOG_LEVEL", "--log-level"}, &Options::log_level},
      {{"DATAFAST_MCP_LOG_FORMAT", "--log-format"}, &Options::log_format},
  };
  return table;
}

std::string join_quoted(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &i : items)
    out += (out.empty() ? "'" : ", '") + i + "'";
  return out;
}

// tools.readOnly / tools.enabled (file) under --read-only / --tools (flags or variables).
Expected<ToolsConfig, ConfigError> load_tools(const json *section, const Options &options,
                                              const std::string &where) {
  ToolsConfig t;
  const Origin from_file{Source::File, where};
  auto fail = [&](const Origin &origin, const std::string &file_key, std::string message) {
    bool in_file = origin.source == Source::File;
    return unexpected(ConfigError{in_file ? file_key : origin.name, std::move(message), in_file ? where : ""});
  };
  if (section != nullptr) {
    if (!section->is_object())
      return fail(from_file, "tools", "must be an object, got " + quoted_type(*section));
    if (auto e = check_keys(*section, "tools.", {"readOnly", "enabled"}))
      return unexpected(ConfigError{e->key, e->message, where});
    if (auto r = section->find("readOnly"); r != section->end()) {
      if (!r->is_boolean())
        return fail(from_file, "tools.readOnly", "must be true or false, got " + quoted_type(*r));
      t.read_only = {r->get<bool>(), from_file};
    }
    if (auto e = section->find("enabled"); e != section->end()) {
      if (!e->is_array())
        return fail(from_file, "tools.enabled", "must be a list of tool names, got " + quoted_type(*e));
      std::vector<std::string> names;
      for (std::size_t i = 0; i < e->size(); ++i) {
        if (!(*e)[i].is_string())
          return fail(from_file, "tools.enabled[" + std::to_string(i) + "]",
                      "must be a string, got " + quoted_type((*e)[i]));
        names.push_back((*e)[i].get<std::string>());
      }
      t.enabled = {std::move(names), from_file};
    }
  }
  if (options.read_only)
    t.read_only = {*options.read_only, options.origin_of("--read-only")};
  if (options.tools)
    t.enabled = {split_commas(*options.tools), options.origin_of("--tools")};

  const std::vector<std::string> known = tools::defined_tool_names();
  std::vector<std::string> on = known;
  if (t.enabled.value) {
    std::vector<std::string> unknown;
    for (const std::string &name : *t.enabled.value)
      if (std::find(known.begin(), known.end(), name) == known.end())
        unknown.push_back(name);
    if (!unknown.empty())
      return fail(t.enabled.origin, "tools.enabled",
                  std::string(unknown.size() == 1 ? "unknown tool " : "unknown tools ") + join_quoted(unknown) +
                      "; known tools: " + policy::join(known, ", "));
    if (t.enabled.value->empty())
      return fail(t.enabled.origin, "tools.enabled", "names no tool; known tools: " + policy::join(known, ", "));
    on.clear();
    for (const std::string &name : known) // sorted, without duplicates
      if (std::find(t.enabled.value->begin(), t.enabled.value->end(), name) != t.enabled.value->end())
        on.push_back(name);
  }
  if (t.read_only.value) {
    // Read-only is what each tool's definition declares (annotations.readOnlyHint), so a new
    // read-only tool is included without a list to update here.
    std::vector<std::string> read_only_tools;
    for (const std::string &name : known) {
      const json def = tools::tool_definition(name);
      auto a = def.find("annotations");
      if (a != def.end() && a->is_object() && a->value("readOnlyHint", false))
        read_only_tools.push_back(name);
    }
    std::erase_if(on, [&](const std::string &name) {
      return std::find(read_only_tools.begin(), read_only_tools.end(), name) == read_only_tools.end();
    });
    if (on.empty())
      return fail(t.enabled.origin, "tools.enabled",
                  "leaves no tool with read-only on; the read-only tools are " + policy::join(read_only_tools, ", "));
  }
  t.on = std::move(on);
  return t;
}

} // namespace

std::string Origin::describe() const {
  switch (source) {
  case Source::Default: return "default";
  case Source::File: return "config file " + name;
  case Source::Env: return "environment " + name;
  case Source::Flag: return "flag " + name;
  case Source::Sandbox: return name.empty() ? "sandbox" : "sandbox (" + name + ")";
  }
  return "default";
}

std::string ConfigError::to_string() const {
  std::string s = key + ": " + message;
  if (!where.empty())
    s += " (in " + where + ")";
  return s;
}

Env process_env() {
  return [](const std::string &name) -> std::optional<std::string> {
    const char *v = std::getenv(name.c_str());
    if (v == nullptr)
      return std::nullopt;
    return std::string(v);
  };
}

Origin Options::origin_of(const char *flag) const {
  if (auto it = env_names.find(flag); it != env_names.end())
    return {Source::Env, it->second};
  return {Source::Flag, flag};
}

const std::vector<EnvSetting> &env_settings() {
  static const std::vector<EnvSetting> settings = [] {
    std::vector<EnvSetting> out;
    for (const EnvBinding &b : env_bindings())
      out.push_back(b.setting);
    return out;
  }();
  return settings;
}

Expected<Options, ConfigError> apply_env(Options options, const Env &env) {
  for (const EnvBinding &b : env_bindings()) {
    const std::string variable = b.setting.variable;
    auto value = env(variable);
    if (!value || value->empty())
      continue;
    auto unset = [&](auto field) { return !(options.*field).has_value(); };
    bool flag_given = !std::visit(unset, b.field);
    if (flag_given)
      continue; // the flag wins
    if (auto *sf = std::get_if<StringField>(&b.field)) {
      options.*(*sf) = *value;
    } else if (auto *lf = std::get_if<ListField>(&b.field)) {
      options.*(*lf) = split_commas(*value);
    } else if (auto *f = std::get_if<IntField>(&b.field)) {
      long long n = 0;
      const char *end = value->data() + value->size();
      auto [ptr, ec] = std::from_chars(value->data(), end, n);
      if (ec != std::errc() || ptr != end)
        return unexpected(ConfigError{variable, "'" + *value + "' is not a whole number (it stands for " +
                                                    b.setting.flag + ")", ""});
      options.*(*f) = n;
    } else if (auto *bf = std::get_if<BoolField>(&b.field)) {
      if (*value == "true" || *value == "1")
        options.*(*bf) = true;
      else if (*value == "false" || *value == "0")
        options.*(*bf) = false;
      else
        return unexpected(ConfigError{variable, "'" + *value + "' is not true, false, 1 or 0", ""});
    }
    options.env_names[b.setting.flag] = variable;
  }
  return options;
}

Expected<Config, ConfigError> load(const Options &options, const Env &env) {
  if (!options.config_path)
    return load_text(std::nullopt, options, env);
  const std::string &where = *options.config_path;
  std::ifstream in(where, std::ios::binary);
  if (!in)
    return unexpected(ConfigError{"--config", "cannot open '" + where + "'", ""});
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes)
    return unexpected(ConfigError{"--config", "'" + where + "' is larger than 1 MiB", ""});
  return load_text(text, options, env);
}

Expected<Config, ConfigError> load_text(const std::optional<std::string> &text, const Options &flags,
                                        const Env &env) {
  auto layered = apply_env(flags, env);
  if (!layered)
    return unexpected(layered.error());
  const Options &options = *layered;
  Config cfg;
  cfg.sandbox = options.sandbox;
  cfg.config_path = options.config_path;

  FileValues file;
  std::string where = options.config_path.value_or("(config)");
  if (text) {
    auto parsed = parse_json(*text);
    if (!parsed)
      return unexpected(ConfigError{"--config", "'" + where + "' is not valid JSON: " + parsed.error(), ""});
    auto values = read_file_values(*parsed);
    if (!values)
      return unexpected(ConfigError{values.error().key, values.error().message, where});
    file = std::move(*values);
  }
  const Origin from_file{Source::File, where};
  auto error_at = [&](const Origin &origin, const std::string &file_key, std::string message) {
    std::string key = origin.source == Source::File ? file_key : origin.name;
    return unexpected(ConfigError{key, std::move(message),
                                  origin.source == Source::File ? where : std::string()});
  };

  // Upstream URL: flag > env > file > default.
  cfg.base_url = {kDefaultBaseUrl, {}};
  if (file.base_url)
    cfg.base_url = {*file.base_url, from_file};
  if (auto v = env(kUrlEnv); v && !v->empty())
    cfg.base_url = {*v, {Source::Env, kUrlEnv}};
  if (options.upstream_url)
    cfg.base_url = {*options.upstream_url, options.origin_of("--upstream-url")};
  if (!cfg.sandbox) {
    auto url = parse_https_url(cfg.base_url.value);
    if (!url)
      return error_at(cfg.base_url.origin, "upstream.baseUrl",
                      "'" + cfg.base_url.value + "' " + url.error());
    cfg.upstream = *url;
  }

  cfg.token_env = {kDefaultTokenEnv, {}};
  if (file.token_env)
    cfg.token_env = {*file.token_env, from_file};
  if (options.token_env)
    cfg.token_env = {*options.token_env, options.origin_of("--token-env")};
  {
    const std::string &name = cfg.token_env.value;
    bool ok = !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
              std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
              });
    if (!ok)
      return error_at(cfg.token_env.origin, "upstream.tokenEnv",
                      "'" + name + "' is not an environment variable name");
  }

  cfg.ca_file = {std::nullopt, {}};
  if (file.ca_file)
    cfg.ca_file = {*file.ca_file, from_file};
  if (auto v = env(kCaFileEnv); v && !v->empty())
    cfg.ca_file = {*v, {Source::Env, kCaFileEnv}};
  if (options.ca_file)
    cfg.ca_file = {*options.ca_file, options.origin_of("--ca-file")};
  if (cfg.ca_file.value && !cfg.sandbox) {
    if (auto problem = upstream::ca_file_quick_problem(*cfg.ca_file.value))
      return error_at(cfg.ca_file.origin, "upstream.caFile", *problem);
  }

  long long timeout = kDefaultTimeoutMs;
  Origin timeout_origin;
  if (file.timeout_ms)
    timeout = *file.timeout_ms, timeout_origin = from_file;
  if (options.timeout_ms)
    timeout = *options.timeout_ms, timeout_origin = options.origin_of("--timeout-ms");
  if (timeout < 100 || timeout > 600000)
    return error_at(timeout_origin, "upstream.timeoutMs",
                    (timeout > 600000 ? std::string("the value") : std::to_string(timeout)) +
                        " is out of range; give 100 to 600000 milliseconds");
  cfg.timeout_ms = {static_cast<int>(timeout), timeout_origin};

  // Ceiling: no default. It is the point of the server, so it must be stated; only the sandbox
  // fills what is missing with its small demo ceiling.
  if (file.permissions)
    cfg.permissions = {*file.permissions, from_file};
  if (options.permissions)
    cfg.permissions = {*options.permissions, options.origin_of("--permissions")};
  bool permissions_given = file.permissions || options.permissions;
  if (!permissions_given && cfg.sandbox) {
    cfg.permissions = {{kDemoPermissions.begin(), kDemoPermissions.end()}, {Source::Sandbox, "demo ceiling"}};
    cfg.demo_ceiling = true;
  } else if (!permissions_given) {
    return unexpected(ConfigError{"ceiling.permissions",
                                  "not set; give the permissions minted tokens may carry with "
                                  "--permissions (or DATAFAST_MCP_PERMISSIONS) or ceiling.permissions "
                                  "in the config file (use \"*\" for all)",
                                  ""});
  }
  if (file.websites_given)
    cfg.website_ids = {file.website_ids, from_file};
  if (file.website_domains) {
    cfg.website_domains = {*file.website_domains, from_file};
    if (!file.websites_given)
      cfg.website_ids = {std::vector<std::string>{}, from_file};
  }
  if (options.websites) {
    Origin flag = options.origin_of("--websites");
    cfg.website_domains = {{}, flag};
    if (*options.websites == "*") {
      cfg.website_ids = {std::nullopt, flag};
    } else {
      // An entry with a dot is a domain (ids never hold one); the rest are ids.
      std::vector<std::string> ids;
      for (std::string &item : split_commas(*options.websites))
        (item.find('.') != std::string::npos ? cfg.website_domains.value : ids).push_back(std::move(item));
      cfg.website_ids = {std::move(ids), flag};
    }
  }
  bool websites_given = file.websites_given || file.website_domains || options.websites;
  if (!websites_given && cfg.sandbox) {
    cfg.website_ids = {demo_website_ids(), {Source::Sandbox, "demo ceiling"}};
    cfg.demo_ceiling = true;
  } else if (!websites_given) {
    return unexpected(ConfigError{"ceiling.websiteIds",
                                  "not set; give the websites minted tokens may cover with "
                                  "--websites ID,DOMAIN,... (or DATAFAST_MCP_WEBSITES) or ceiling.websiteIds "
                                  "(ids) / ceiling.websites (domains) in the config file (use \"*\" for all "
                                  "websites)",
                                  ""});
  }
  const Origin &domains_origin = cfg.website_domains.origin;
  bool domains_from_file = domains_origin.source == Source::File;
  const std::string domains_key = domains_from_file ? std::string("ceiling.websites") : domains_origin.name;
  for (std::size_t i = 0; i < cfg.website_domains.value.size(); ++i) {
    const std::string &d = cfg.website_domains.value[i];
    bool sane = !d.empty() && d.size() <= 253 && std::all_of(d.begin(), d.end(), [](char ch) {
      return static_cast<unsigned char>(ch) > 0x20 && static_cast<unsigned char>(ch) < 0x7F && ch != '/';
    });
    if (!sane)
      return unexpected(ConfigError{
          domains_from_file ? domains_key + "[" + std::to_string(i) + "]" : domains_key,
          "'" + d + "' is not a domain (1 to 253 printable characters, no spaces or '/'), e.g. example.com",
          domains_from_file ? where : ""});
  }
  // With domains still to resolve, the ids given as ids may be none yet: the ceiling is checked
  // without them, and the websites are completed at start.
  bool pending = !cfg.website_domains.value.empty();
  std::optional<std::vector<std::string>> given_ids = cfg.website_ids.value;
  if (pending && given_ids && given_ids->empty())
    given_ids = std::nullopt;
  auto ceiling = policy::make_ceiling({cfg.permissions.value, given_ids});
  if (!ceiling) {
    const policy::Refusal &r = ceiling.error().front();
    const Origin &origin = r.field.starts_with("permissions") ? cfg.permissions.origin
                                                              : cfg.website_ids.origin;
    return unexpected(ConfigError{ceiling_key(r.field, cfg.permissions.origin, cfg.website_ids.origin),
                                  r.message, origin.source == Source::File ? where : ""});
  }
  cfg.ceiling = std::move(*ceiling);
  if (pending && cfg.website_ids.value && cfg.website_ids.value->empty())
    cfg.ceiling.websites = policy::WebsiteScope{false, {}}; // only domains: filled in at start

  cfg.log_level = {"info", {}};
  if (file.log_level)
    cfg.log_level = {*file.log_level, from_file};
  if (options.log_level)
    cfg.log_level = {*options.log_level, options.origin_of("--log-level")};
  if (std::find(std::begin(kLogLevels), std::end(kLogLevels), cfg.log_level.value) ==
      std::end(kLogLevels))
    return error_at(cfg.log_level.origin, "logging.level",
                    "'" + cfg.log_level.value + "' is not a level; use trace, debug, info, warn, "
                    "error or off");

  cfg.log_format = {"text", {}};
  if (file.log_format)
    cfg.log_format = {*file.log_format, from_file};
  if (options.log_format)
    cfg.log_format = {*options.log_format, options.origin_of("--log-format")};
  if (cfg.log_format.value != "text" && cfg.log_format.value != "json")
    return error_at(cfg.log_format.origin, "logging.format", "'" + cfg.log_format.value + "' is not \"text\" or \"json\"");

  SafetySections sections;
  sections.keys = file.keys ? &*file.keys : nullptr;
  sections.mint = file.mint ? &*file.mint : nullptr;
  sections.revoke = file.revoke ? &*file.revoke : nullptr;
  sections.limits = file.limits ? &*file.limits : nullptr;
  sections.confirm = file.confirm ? &*file.confirm : nullptr;
  sections.audit_file = file.audit_file;
  sections.scope_ttl_ms = file.scope_ttl_ms;
  auto safety = load_safety(sections, options, where);
  if (!safety)
    return unexpected(safety.error());
  cfg.safety = std::move(*safety);

  auto tools = load_tools(file.tools ? &*file.tools : nullptr, options, where);
  if (!tools)
    return unexpected(tools.error());
  cfg.tools = std::move(*tools);

  // A client's websites are checked against the server's once its domains are resolved (app.cpp).
  policy::Ceiling for_clients = cfg.ceiling;
  if (pending)
    for_clients.websites = policy::WebsiteScope::everything();
  auto http = load_http(file.http ? &*file.http : nullptr, options, env, for_clients, where);
  if (!http)
    return unexpected(http.error());
  cfg.http = std::move(*http);

  if (cfg.sandbox) {
    cfg.base_url.origin = {Source::Sandbox, ""};
    cfg.ca_file = {std::nullopt, {Source::Sandbox, ""}};
    return cfg;
  }

  // The parent token: from the environment only, never from a file or flag.
  const std::string &var = cfg.token_env.value;
  auto token = env(var);
  if (!token || token->empty())
    return unexpected(ConfigError{var,
                                  "not set; export the DataFast account token (dft_...) that the "
                                  "server acts with in " + var +
                                      ", or run with --sandbox to try the built-in sandbox account",
                                  ""});
  bool printable = std::all_of(token->begin(), token->end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (!token->starts_with("dft_") || token->size() < 11 || !printable)
    return unexpected(ConfigError{var,
                                  "does not hold a DataFast account token: it must start with dft_ "
                                  "and contain no spaces (website keys, df_..., cannot manage "
                                  "tokens)",
                                  ""});
  cfg.token = Secret(*token);
  return cfg;
}

} // namespace dfmcp::config
