#include "config_safety.hpp"

#include "policy/name.hpp"
#include "safety/key_store.hpp"
#include "upstream/http_client.hpp"

#include <algorithm>

namespace dfmcp::config {

namespace {

struct Reader {
  const std::string &where;

  ConfigError fail(const std::string &key, std::string message) const { return ConfigError{key, std::move(message), where}; }

  // Unknown keys in a section.
  std::optional<ConfigError> keys(const json *section, const std::string &prefix,
                                  const std::vector<std::string> &known) const {
    if (section == nullptr)
      return std::nullopt;
    if (!section->is_object())
      return fail(prefix, "must be an object, got " + json_type_name(*section));
    for (const auto &[key, value] : section->items())
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const std::string &k : known)
          list += (list.empty() ? "" : ", ") + k;
        return fail(prefix + "." + key, "unknown key (known: " + list + ")");
      }
    return std::nullopt;
  }

  Expected<std::optional<std::string>, ConfigError> string(const json *section, const std::string &prefix,
                                                           const char *key) const {
    if (section == nullptr || !section->contains(key))
      return std::optional<std::string>{};
    const json &v = (*section)[key];
    if (!v.is_string())
      return unexpected(fail(prefix + "." + key, "must be a string, got " + json_type_name(v)));
    return std::optional<std::string>{v.get<std::string>()};
  }

  Expected<std::optional<long long>, ConfigError> integer(const json *section, const std::string &prefix,
                                                          const char *key, long long min, long long max) const {
    if (section == nullptr || !section->contains(key))
      return std::optional<long long>{};
    const json &v = (*section)[key];
    bool ok = v.is_number_integer() && !(v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) &&
              v.get<long long>() >= min && v.get<long long>() <= max;
    if (!ok)
      return unexpected(fail(prefix + "." + key, "must be an integer from " + std::to_string(min) + " to " +
                                                     std::to_string(max) + ", got " + dump_json(v)));
    return std::optional<long long>{v.get<long long>()};
  }
};

} // namespace

Expected<SafetyConfig, ConfigError> load_safety(const SafetySections &file, const Options &options,
                                                const std::string &where) {
  Reader r{where};
  SafetyConfig s;
  const Origin from_file{Source::File, where};
  auto flag_error = [&](const Origin &origin, const std::string &file_key, std::string message) {
    bool in_file = origin.source == Source::File;
    return unexpected(ConfigError{in_file ? file_key : origin.name, std::move(message), in_file ? where : ""});
  };

  if (auto e = r.keys(file.keys, "keys", {"delivery", "dir"}))
    return unexpected(*e);
  if (auto e = r.keys(file.mint, "mint", {"namePrefix", "ledgerFile"}))
    return unexpected(*e);
  if (auto e = r.keys(file.revoke, "revoke", {"scope"}))
    return unexpected(*e);
  if (auto e = r.keys(file.limits, "limits", {"maxCreatesPerHour", "maxLiveMinted"}))
    return unexpected(*e);

  // Strings: file, then flag.
  struct StringKey {
    const json *section;
    const char *prefix;
    const char *key;
    const std::optional<std::string> &flag;
    const char *flag_name;
    Setting<std::string> *slot;
  };
  StringKey strings[] = {
      {file.keys, "keys", "delivery", options.keys_delivery, "--keys-delivery", &s.keys_delivery},
      {file.mint, "mint", "namePrefix", options.name_prefix, "--name-prefix", &s.name_prefix},
      {file.revoke, "revoke", "scope", options.revoke_scope, "--revoke-scope", &s.revoke_scope},
  };
  for (StringKey &k : strings) {
    auto v = r.string(k.section, k.prefix, k.key);
    if (!v)
      return unexpected(v.error());
    if (*v)
      *k.slot = {**v, from_file};
    if (k.flag)
      *k.slot = {*k.flag, options.origin_of(k.flag_name)};
  }
  if (file.confirm != nullptr) {
    if (!file.confirm->is_string())
      return unexpected(r.fail("confirm", "must be \"never\", \"writes\" or \"always\", got " + json_type_name(*file.confirm)));
    s.confirm = {file.confirm->get<std::string>(), from_file};
  }
  if (options.confirm)
    s.confirm = {*options.confirm, options.origin_of("--confirm")};

  struct PathKey {
    const json *section;
    const char *prefix;
    const char *key;
    const std::optional<std::string> &flag;
    const char *flag_name;
    Setting<std::optional<std::string>> *slot;
  };
  PathKey paths[] = {
      {file.keys, "keys", "dir", options.keys_dir, "--keys-dir", &s.keys_dir},
      {file.mint, "mint", "ledgerFile", options.ledger_file, "--ledger-file", &s.ledger_file},
  };
  for (PathKey &k : paths) {
    auto v = r.string(k.section, k.prefix, k.key);
    if (!v)
      return unexpected(v.error());
    if (*v)
      *k.slot = {*v, from_file};
    if (k.flag)
      *k.slot = {*k.flag, options.origin_of(k.flag_name)};
  }
  if (file.audit_file)
    s.audit_file = {file.audit_file, from_file};
  if (options.audit_file)
    s.audit_file = {*options.audit_file, options.origin_of("--audit-file")};

  struct IntKey {
    const char *key;
    const std::optional<long long> &flag;
    const char *flag_name;
    Setting<std::optional<int>> *slot;
  };
  IntKey ints[] = {{"maxCreatesPerHour", options.max_creates_per_hour, "--max-creates-per-hour", &s.max_creates_per_hour},
                   {"maxLiveMinted", options.max_live_minted, "--max-live-minted", &s.max_live_minted}};
  for (IntKey &k : ints) {
    auto v = r.integer(file.limits, "limits", k.key, 1, 100000);
    if (!v)
      return unexpected(v.error());
    if (*v)
      *k.slot = {static_cast<int>(**v), from_file};
    if (k.flag) {
      if (*k.flag < 1 || *k.flag > 100000)
        return unexpected(ConfigError{options.origin_of(k.flag_name).name, "must be from 1 to 100000", ""});
      *k.slot = {static_cast<int>(*k.flag), options.origin_of(k.flag_name)};
    }
  }
  if (file.scope_ttl_ms) {
    if (*file.scope_ttl_ms < 0 || *file.scope_ttl_ms > 86400000)
      return unexpected(r.fail("upstream.scopeTtlMs", "must be from 0 to 86400000 milliseconds"));
    s.scope_ttl_ms = {static_cast<int>(*file.scope_ttl_ms), from_file};
  }
  if (options.scope_ttl_ms) {
    if (*options.scope_ttl_ms < 0 || *options.scope_ttl_ms > 86400000)
      return unexpected(ConfigError{options.origin_of("--scope-ttl-ms").name, "must be from 0 to 86400000 milliseconds", ""});
    s.scope_ttl_ms = {static_cast<int>(*options.scope_ttl_ms), options.origin_of("--scope-ttl-ms")};
  }

  // Values.
  auto one_of = [&](const Setting<std::string> &v, const std::string &key, std::initializer_list<const char *> allowed)
      -> std::optional<ConfigError> {
    for (const char *a : allowed)
      if (v.value == a)
        return std::nullopt;
    std::string list;
    for (const char *a : allowed)
      list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
    bool in_file = v.origin.source == Source::File;
    return ConfigError{in_file ? key : v.origin.name, "'" + v.value + "' is not one of " + list, in_file ? where : ""};
  };
  if (auto e = one_of(s.keys_delivery, "keys.delivery", {"result", "file"}))
    return unexpected(*e);
  if (auto e = one_of(s.revoke_scope, "revoke.scope", {"ceiling", "minted"}))
    return unexpected(*e);
  if (auto e = one_of(s.confirm, "confirm", {"never", "writes", "always"}))
    return unexpected(*e);
  if (!s.name_prefix.value.empty()) {
    if (s.name_prefix.value.size() > 32)
      return flag_error(s.name_prefix.origin, "mint.namePrefix", "is longer than 32 characters");
    if (auto problem = policy::name_problem(s.name_prefix.value); problem && problem->find("control") != std::string::npos)
      return flag_error(s.name_prefix.origin, "mint.namePrefix", "the prefix " + *problem);
  }
  if (s.keys_delivery.value == "file" && !s.keys_dir.value)
    return flag_error(s.keys_delivery.origin, "keys.delivery",
                      "\"file\" needs keys.dir (or --keys-dir): the directory the key files go in");
  return s;
}

Expected<Ok, ConfigError> prepare_files(const Config &cfg) {
  const SafetyConfig &s = cfg.safety;
  if (s.keys_delivery.value == "file" && s.keys_dir.value) {
    if (auto ok = safety::prepare_key_dir(*s.keys_dir.value); !ok) {
      bool in_file = s.keys_dir.origin.source == Source::File;
      return unexpected(ConfigError{in_file ? "keys.dir" : s.keys_dir.origin.name, ok.error(),
                                    in_file ? s.keys_dir.origin.name : ""});
    }
  }
  return Ok{};
}

Expected<Ok, ConfigError> verify_ca_file(const Config &cfg) {
  if (!cfg.ca_file.value || cfg.sandbox)
    return Ok{};
  if (auto problem = upstream::ca_file_problem(*cfg.ca_file.value)) {
    bool in_file = cfg.ca_file.origin.source == Source::File;
    return unexpected(ConfigError{in_file ? "upstream.caFile" : cfg.ca_file.origin.name, *problem,
                                  in_file ? cfg.ca_file.origin.name : ""});
  }
  return Ok{};
}

} // namespace dfmcp::config
