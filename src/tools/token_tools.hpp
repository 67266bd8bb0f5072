// The token tools: list_access_tokens, create_access_token, revoke_access_token, get_token_ceiling
// (and list_websites, from tools/websites.hpp, which shares the broker's website list).
// Every call is judged before any upstream request: the configured ceiling (no I/O at all), then
// the scope of the server's own token, lineage, quotas and confirmation. A refusal never sends
// the refused request to DataFast. Every call is audited when an audit log is configured.
#pragma once

#include "audit/audit_log.hpp"
#include "safety/confirm.hpp"
#include "safety/ledger.hpp"
#include "secret.hpp"
#include "tools/registry.hpp"
#include "tools/websites.hpp"
#include "upstream/account_api.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace dfmcp::tools {

struct BrokerOptions {
  enum class KeyDelivery { Result, File } key_delivery = KeyDelivery::Result;
  std::string keys_dir;    // for KeyDelivery::File (prepared at start-up)
  std::string name_prefix; // mint.namePrefix, put in front of every minted name
  bool revoke_minted_only = false; // revoke.scope "minted"
  std::optional<int> max_creates_per_hour; // per client
  std::optional<int> max_live_minted;      // per client
  safety::ConfirmMode confirm = safety::ConfirmMode::Never;
  // How long the parent token's scope, as last listed, is trusted before it is read again.
  std::chrono::milliseconds scope_ttl{5 * 60 * 1000};
};

class Broker;

// What the broker knows of the parent token's own scope (for `check` and the ceiling tool).
struct ParentScopeView {
  enum class State { Unknown, Identified, NotFound } state = State::Unknown;
  policy::TokenScope scope;
  std::string display_key;
};

// Registers the tools; returns the broker behind them (it must outlive the registry's use).
// `api`, `ledger` and `audit` (optional) must outlive it too.
std::shared_ptr<Broker> register_token_tools(ToolRegistry &registry, upstream::AccountApi &api, Secret parent_token,
                                             BrokerOptions options = {}, safety::Ledger *ledger = nullptr,
                                             audit::AuditLog *audit = nullptr);

// Reads the account's tokens now and updates what the broker knows of the parent's scope.
Expected<ParentScopeView, upstream::UpstreamError> refresh_parent_scope(Broker &broker, CancelToken *cancel);
ParentScopeView parent_scope(const Broker &broker);

// The parent token's websites as the broker knows them (start-up resolution of domains, `check`).
WebsiteDirectory &website_directory(Broker &broker);

// The ceiling as an agent sees it: configured, parent scope, effective (also shown by `check`).
// With names, domains stand beside the website ids.
json ceiling_view(const policy::Ceiling &ceiling, const policy::WebsiteNames *names = nullptr);

} // namespace dfmcp::tools
