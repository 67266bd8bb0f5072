#include "check.hpp"

#include "cli.hpp"
#include "tools/token_tools.hpp"

#include <algorithm>

namespace dfmcp {

std::string render_check(const config::Config &c) {
  struct Row {
    std::string key, value, from;
  };
  std::vector<Row> rows;
  if (c.sandbox) {
    rows.push_back({"upstream", "built-in sandbox account (HTTPS on loopback)", "flag --sandbox"});
    if (c.demo_ceiling)
      rows.push_back({"ceiling", "the sandbox's demo ceiling (no ceiling was given)", "sandbox"});
  } else {
    rows.push_back({"upstream.baseUrl", c.upstream.to_string(), c.base_url.origin.describe()});
    rows.push_back({"upstream.tokenEnv", c.token_env.value, c.token_env.origin.describe()});
    rows.push_back({"parent token", "set (" + c.token.display_key() + ")",
                    "environment " + c.token_env.value});
    rows.push_back({"upstream.caFile", c.ca_file.value.value_or("(system certificate store)"),
                    c.ca_file.origin.describe()});
  }
  rows.push_back({"upstream.timeoutMs", std::to_string(c.timeout_ms.value),
                  c.timeout_ms.origin.describe()});
  rows.push_back({"ceiling.permissions", c.ceiling.permissions.describe(),
                  c.permissions.origin.describe()});
  policy::WebsiteNames names;
  for (const auto &[domain, id] : c.resolved_domains)
    names.emplace(id, domain);
  rows.push_back({"ceiling.websiteIds",
                  c.ceiling.websites.all || !c.ceiling.websites.ids.empty() ? c.ceiling.websites.describe(&names)
                                                                           : std::string("(from the domains below)"),
                  c.website_ids.origin.describe()});
  rows.push_back({"tools.readOnly", c.tools.read_only.value ? "true" : "false", c.tools.read_only.origin.describe()});
  rows.push_back({"tools.enabled", policy::join(c.tools.on, ", "), c.tools.enabled.origin.describe()});
  if (!c.website_domains.value.empty()) {
    std::vector<std::string> shown;
    if (c.resolved_domains.empty()) {
      shown = c.website_domains.value;
      shown.back() += " (not resolved: --offline)";
    }
    for (const auto &[domain, id] : c.resolved_domains)
      shown.push_back(domain + " -> " + id);
    rows.push_back({"ceiling.websites", policy::join(shown, ", "), c.website_domains.origin.describe()});
  }
  rows.push_back({"logging.level", c.log_level.value, c.log_level.origin.describe()});
  rows.push_back({"logging.format", c.log_format.value, c.log_format.origin.describe()});
  const config::SafetyConfig &sc = c.safety;
  rows.push_back({"logging.auditFile", sc.audit_file.value.value_or("(none)"), sc.audit_file.origin.describe()});
  rows.push_back({"keys.delivery", sc.keys_delivery.value + (sc.keys_dir.value ? " (" + *sc.keys_dir.value + ")" : ""),
                  sc.keys_delivery.origin.describe()});
  rows.push_back({"mint.namePrefix", sc.name_prefix.value.empty() ? "(none)" : "\"" + sc.name_prefix.value + "\"",
                  sc.name_prefix.origin.describe()});
  rows.push_back({"mint.ledgerFile", sc.ledger_file.value.value_or("(in memory: lineage lasts as long as the process)"),
                  sc.ledger_file.origin.describe()});
  rows.push_back({"revoke.scope", sc.revoke_scope.value, sc.revoke_scope.origin.describe()});
  rows.push_back({"limits.maxCreatesPerHour",
                  sc.max_creates_per_hour.value ? std::to_string(*sc.max_creates_per_hour.value) : "(none)",
                  sc.max_creates_per_hour.origin.describe()});
  rows.push_back({"limits.maxLiveMinted", sc.max_live_minted.value ? std::to_string(*sc.max_live_minted.value) : "(none)",
                  sc.max_live_minted.origin.describe()});
  rows.push_back({"confirm", sc.confirm.value, sc.confirm.origin.describe()});
  const config::HttpConfig &h = c.http;
  if (!h.enabled) {
    rows.push_back({"transport", "stdio", "default"});
  } else {
    rows.push_back({"http.listen", h.listen.value + (h.loopback ? " (loopback)" : ""), h.listen.origin.describe()});
    rows.push_back({"http.path", h.path.value, h.path.origin.describe()});
    rows.push_back({"http.authTokenEnv",
                    h.auth_token_env.value ? *h.auth_token_env.value + " (set)"
                                           : std::string(h.clients.empty() ? "none: no authentication (loopback only)" : "none"),
                    h.auth_token_env.origin.describe()});
    for (const config::HttpClient &client : h.clients)
      rows.push_back({"http.clients." + client.name,
                      "token " + client.token_env + "; permissions " + client.ceiling.permissions.describe() +
                          "; websites " + client.ceiling.websites.describe(&names),
                      "config file"});
    rows.push_back({"http.allowedOrigins",
                    h.allowed_origins.value.empty() ? "(only the server's own loopback origin)"
                                                    : policy::join(h.allowed_origins.value, ", "),
                    h.allowed_origins.origin.describe()});
  }

  std::size_t w1 = 0, w2 = 0;
  for (const Row &r : rows) {
    w1 = std::max(w1, r.key.size());
    w2 = std::max(w2, r.value.size());
  }
  w2 = std::min<std::size_t>(w2, 60);
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() < w)
      s.append(w - s.size(), ' ');
    return s;
  };

  std::string out = version_text() + "\n";
  out += "Configuration is valid" +
         (c.config_path ? " (config file " + *c.config_path + ")" : std::string(" (no config file)")) +
         ".\n\n";
  out += pad("setting", w1) + "  " + pad("value", w2) + "  from\n";
  for (const Row &r : rows)
    out += pad(r.key, w1) + "  " + pad(r.value, w2) + "  " + r.from + "\n";
  out += "\nEffective ceiling: every token minted or revoked through this server stays within it.\n";
  const json view = tools::ceiling_view(c.ceiling, &names);
  for (const auto &rule : view.at("rules"))
    out += "  - " + rule.get<std::string>() + "\n";
  return out;
}

} // namespace dfmcp
