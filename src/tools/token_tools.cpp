#include "tools/token_tools.hpp"

#include "safety/key_store.hpp"
#include "safety/quotas.hpp"
#include "tools/websites.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <ctime>
#include <mutex>

namespace dfmcp::tools {

namespace {

constexpr std::size_t kMaxTokens = 20; // DataFast's documented per-account limit
constexpr std::string_view kNothingSent = "Nothing was sent to DataFast.";
constexpr std::string_view kNothingRevoked = "Nothing was revoked.";
constexpr const char *kConfirmKey = "confirm_grant";

// Reads a tool's arguments, collecting every problem with its JSON pointer. The inputSchema says
// the same; this is what holds when a client sends something else.
class ArgReader {
public:
  ArgReader(const json &args, std::vector<std::string> known) : args_(args), known_(std::move(known)) {
    for (const auto &[key, value] : args_.items())
      if (std::find(known_.begin(), known_.end(), key) == known_.end())
        problems_.push_back("/" + key + ": unknown argument; this tool takes " + known_list());
  }

  std::optional<std::string> string(const std::string &key, bool required) {
    auto it = args_.find(key);
    if (it == args_.end()) {
      if (required)
        problems_.push_back("/" + key + ": required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      problems_.push_back("/" + key + ": must be a string, got " + json_type_name(*it));
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  bool boolean(const std::string &key) {
    auto it = args_.find(key);
    if (it == args_.end())
      return false;
    if (!it->is_boolean()) {
      problems_.push_back("/" + key + ": must be true or false, got " + json_type_name(*it));
      return false;
    }
    return it->get<bool>();
  }

  std::optional<std::vector<std::string>> string_list(const std::string &key, bool required) {
    auto it = args_.find(key);
    if (it == args_.end()) {
      if (required)
        problems_.push_back("/" + key + ": required");
      return std::nullopt;
    }
    if (!it->is_array()) {
      problems_.push_back("/" + key + ": must be a list of strings, got " + json_type_name(*it));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json &item = (*it)[i];
      if (!item.is_string()) {
        problems_.push_back("/" + key + "/" + std::to_string(i) + ": must be a string, got " + json_type_name(item));
        ok = false;
      } else {
        out.push_back(item.get<std::string>());
      }
    }
    if (!ok)
      return std::nullopt;
    return out;
  }

  bool ok() const { return problems_.empty(); }
  const std::vector<std::string> &problems() const { return problems_; }

private:
  std::string known_list() const {
    if (known_.empty())
      return "no arguments";
    std::string s;
    for (const std::string &k : known_)
      s += (s.empty() ? "" : ", ") + k;
    return s;
  }
  const json &args_;
  std::vector<std::string> known_;
  std::vector<std::string> problems_;
};

std::string bullet_list(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &item : items)
    out += "\n- " + item;
  return out;
}

policy::TokenScope scope_of(const model::AccessToken &t) { return {t.permissions, t.website_ids}; }

std::string describe_websites(const std::vector<std::string> &ids, const policy::WebsiteNames *names = nullptr) {
  return ids.empty() ? std::string("all websites") : "websites " + policy::WebsiteScope{false, ids}.describe(names);
}

// [{"id", "domain"}] for a list of website ids; the domain is null when not known.
json named_websites(const std::vector<std::string> &ids, const policy::WebsiteNames &names) {
  json out = json::array();
  for (const std::string &id : ids) {
    auto it = names.find(id);
    out.push_back(json{{"id", id}, {"domain", it == names.end() ? json(nullptr) : json(it->second)}});
  }
  return out;
}

// Refusals about websites the agent named by domain point at /websites, not /websiteIds.
void point_at_domains(policy::Refusals &refusals) {
  for (policy::Refusal &r : refusals)
    if (r.field.starts_with("/websiteIds"))
      r.field = "/websites" + r.field.substr(11);
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char *confirm_name(safety::ConfirmMode m) {
  switch (m) {
  case safety::ConfirmMode::Never: return "never";
  case safety::ConfirmMode::Writes: return "writes";
  case safety::ConfirmMode::Always: return "always";
  }
  return "never";
}

// The outcome of asking the user: go ahead, or the result to return instead.
struct Confirmation {
  bool go = false;
  std::optional<ToolResult> instead;
};

} // namespace

class Broker {
public:
  Broker(upstream::AccountApi &api, Secret parent, BrokerOptions options, safety::Ledger *ledger,
         audit::AuditLog *audit)
      : api_(api), parent_(std::move(parent)), options_(std::move(options)), audit_(audit),
        websites_(api, options_.scope_ttl) {
    if (ledger == nullptr) {
      own_ledger_ = std::make_unique<safety::Ledger>();
      ledger = own_ledger_.get();
    }
    ledger_ = ledger;
  }

  // --- what is known of the parent token --------------------------------------------------

  void learn(const std::vector<model::AccessToken> &tokens) {
    std::lock_guard lock(mutex_);
    ++scope_generation_; // what get_token_ceiling answered may have changed
    tokens_ = tokens;
    learned_ = std::chrono::steady_clock::now();
    auto it = std::find_if(tokens.begin(), tokens.end(),
                           [&](const model::AccessToken &t) { return display_key_matches(t.display_key, parent_); });
    ParentScopeView::State before = scope_.state;
    if (it == tokens.end()) {
      scope_ = {ParentScopeView::State::NotFound, {}, parent_.display_key()};
      if (before != ParentScopeView::State::NotFound)
        spdlog::warn("parent scope: this server's own token ({}) is not in the account's token list, so its scope "
                     "is unknown; the configured ceiling holds alone", parent_.display_key());
    } else {
      scope_ = {ParentScopeView::State::Identified, scope_of(*it), it->display_key};
      if (before != ParentScopeView::State::Identified)
        spdlog::info("parent scope: this server's own token {} holds permissions [{}] on {}", it->display_key,
                     policy::join(it->permissions, ", "), describe_websites(it->website_ids));
    }
  }

  Expected<ParentScopeView, upstream::UpstreamError> refresh(CancelToken *cancel,
                                                              upstream::Deadline deadline = std::nullopt) {
    auto tokens = api_.list(cancel, deadline);
    if (!tokens)
      return unexpected(tokens.error());
    learn(*tokens);
    return scope();
  }

  ParentScopeView scope() const {
    std::lock_guard lock(mutex_);
    return scope_;
  }

  // Reads the list again when what is known is missing or older than the TTL. A failure leaves
  // the configured ceiling in charge (the create itself will meet the same problem, if any).
  // It gets half of what is left of the call's deadline: the call itself needs the rest.
  void ensure_fresh(CancelToken *cancel, std::chrono::steady_clock::time_point deadline) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      if (tokens_ && now - learned_ < options_.scope_ttl)
        return;
    }
    if (auto r = refresh(cancel, now + (deadline - now) / 2); !r && r.error().kind != upstream::ErrorKind::Cancelled)
      spdlog::warn("parent scope: could not read the token list ({}); judging by the configured ceiling",
                   upstream::describe(r.error(), "list", false));
  }

  // The effective ceiling: configured ∩ the parent's scope, when the parent is identified.
  std::optional<policy::Ceiling> parent_bound(const policy::Ceiling &configured) const {
    std::lock_guard lock(mutex_);
    if (scope_.state != ParentScopeView::State::Identified)
      return std::nullopt;
    return policy::intersect(configured, scope_.scope);
  }

  policy::Bound parent_bound_name() const {
    std::lock_guard lock(mutex_);
    return policy::Bound::parent(scope_.display_key);
  }

  int live_minted(const std::string &client) const {
    std::vector<std::string> ids = ledger_->live_ids(client);
    std::lock_guard lock(mutex_);
    if (!tokens_)
      return static_cast<int>(ids.size());
    return static_cast<int>(std::count_if(ids.begin(), ids.end(), [&](const std::string &id) {
      return std::any_of(tokens_->begin(), tokens_->end(), [&](const model::AccessToken &t) { return t.id == id; });
    }));
  }

  void remember_created(const model::AccessToken &t) {
    std::lock_guard lock(mutex_);
    if (tokens_)
      tokens_->push_back(t);
  }
  void remember_revoked(const std::string &id) {
    std::lock_guard lock(mutex_);
    if (tokens_)
      std::erase_if(*tokens_, [&](const model::AccessToken &t) { return t.id == id; });
  }

  // --- audit and results ------------------------------------------------------------------

  void record(const ToolContext &ctx, const std::string &tool, const json &args, const std::string &decision,
              const std::string &reason, std::optional<int> status = std::nullopt,
              const model::AccessToken *token = nullptr) {
    if (audit_ == nullptr)
      return;
    audit::Record r;
    r.transport = ctx.transport;
    r.client = ctx.client;
    r.tool = tool;
    r.arguments = args;
    r.decision = decision;
    r.reason = reason;
    r.upstream_status = status;
    if (token) {
      r.token_id = token->id;
      r.display_key = token->display_key;
    }
    audit_->append(r);
  }

  ToolResult invalid_arguments(const std::string &tool, const json &args, const std::vector<std::string> &problems,
                               ToolContext &ctx) {
    spdlog::warn("{}: invalid arguments from {}: {}", tool, ctx.client, policy::join(problems, "; "));
    record(ctx, tool, args, "refused", "invalid arguments: " + policy::join(problems, "; "));
    return ToolResult::failure("Invalid arguments. Nothing was sent to DataFast." + bullet_list(problems));
  }

  // `outcome` says what did not happen: "Nothing was sent to DataFast." or "Nothing was revoked."
  ToolResult refused(const std::string &tool, const json &args, const policy::Refusals &refusals,
                     std::string_view outcome, ToolContext &ctx) {
    std::vector<std::string> lines;
    bool beyond = false, parent = false;
    for (const policy::Refusal &r : refusals) {
      lines.push_back(r.to_string());
      beyond = beyond || r.kind == policy::RefusalKind::BeyondCeiling;
      parent = parent || r.kind == policy::RefusalKind::BeyondParent;
    }
    spdlog::warn("{}: refused for {}: {}", tool, ctx.client, policy::join(lines, "; "));
    record(ctx, tool, args, "refused", policy::join(lines, "; "));
    if (ctx.notify)
      ctx.notify("warning", json{{"tool", tool}, {"decision", "refused"}, {"reasons", lines}});
    std::string head = beyond ? "Refused: the request goes beyond this server's token ceiling. "
                       : parent ? "Refused: the request goes beyond what this server's own DataFast token holds, "
                                  "so DataFast would refuse it. "
                                : "Refused. ";
    std::string tail = beyond || parent ? "\nCall get_token_ceiling to see what fits, and ask for the least the task needs."
                                        : "";
    return ToolResult::failure(head + std::string(outcome) + bullet_list(lines) + tail);
  }

  ToolResult not_allowed(const std::string &tool, const json &args, std::string field, std::string message,
                         std::string_view outcome, ToolContext &ctx) {
    return refused(tool, args, {{policy::RefusalKind::NotAllowed, std::move(field), std::move(message)}}, outcome, ctx);
  }

  ToolResult upstream_failure(const std::string &tool, const json &args, const upstream::UpstreamError &error,
                              bool write, ToolContext &ctx, std::string message = "") {
    if (message.empty())
      message = upstream::describe(error, tool, write);
    spdlog::error("{}", message);
    record(ctx, tool, args, "failed", message, error.status ? std::optional<int>(error.status) : std::nullopt);
    if (ctx.notify)
      ctx.notify("error", json{{"tool", tool}, {"decision", "failed"}, {"reason", message}});
    return ToolResult::failure(message);
  }

  // --- confirmation -----------------------------------------------------------------------

  Confirmation confirm(const std::string &tool, const json &args, const std::string &question,
                       const std::string &why, std::string_view outcome, ToolContext &ctx) {
    Confirmation c;
    if (ctx.modern) {
      // 2026-07-28: no server-to-client requests; the question goes back as input_required and
      // returns with the retried call, sealed so that it cannot be forged or replayed.
      if (!safety::allows_form_elicitation(ctx.client_capabilities)) {
        ToolResult r;
        r.protocol_error = ToolResult::ProtocolError{
            -32021,
            "Missing required client capability: this " + tool + " " + why +
                ", and this server asks the user to confirm such grants (confirm: " + confirm_name(options_.confirm) +
                "); declare the elicitation capability to be asked",
            json{{"requiredCapabilities", {{"elicitation", json::object()}}}}, 400};
        record(ctx, tool, args, "refused", "confirmation required; the client cannot be asked");
        c.instead = std::move(r);
        return c;
      }
      auto ask = [&] {
        ToolResult r;
        r.input_required = json{{"inputRequests", {{kConfirmKey, {{"method", "elicitation/create"},
                                                                   {"params", safety::confirmation_request(question, true)}}}}},
                                {"requestState", sealer_.seal(ctx.client, tool, args)}};
        return r;
      };
      if (ctx.request_state.empty()) {
        c.instead = ask();
        return c;
      }
      switch (sealer_.open(ctx.request_state, ctx.client, tool, args)) {
      case safety::StateSealer::Check::Valid:
        break;
      case safety::StateSealer::Check::Expired:
        c.instead = ask();
        return c;
      case safety::StateSealer::Check::Invalid:
      case safety::StateSealer::Check::Replayed: {
        ToolResult r;
        r.protocol_error = ToolResult::ProtocolError{
            -32602, "Invalid params: requestState failed verification (altered, replayed, or for another call)",
            nullptr, 200};
        record(ctx, tool, args, "refused", "requestState failed verification");
        c.instead = std::move(r);
        return c;
      }
      }
      const json *answer = ctx.input_responses.is_object() && ctx.input_responses.contains(kConfirmKey)
                               ? &ctx.input_responses[kConfirmKey]
                               : nullptr;
      if (answer == nullptr) {
        c.instead = ask();
        return c;
      }
      return decide(*answer, tool, args, why, outcome, ctx);
    }
    if (!ctx.elicit) {
      c.instead = not_allowed(tool, args, "",
                              "this " + tool + " " + why + ", and this server asks the user to confirm such grants "
                              "(confirm: " + confirm_name(options_.confirm) + "), but this client cannot be asked: it "
                              "declared no form elicitation capability, or its protocol version (2025-03-26) or "
                              "transport cannot carry the question",
                              outcome, ctx);
      return c;
    }
    auto answer = ctx.elicit(safety::confirmation_request(question, true));
    if (!answer) {
      c.instead = not_allowed(tool, args, "", "the user could not be asked: " + answer.error(), outcome, ctx);
      return c;
    }
    return decide(*answer, tool, args, why, outcome, ctx);
  }

  // The user's answer, however it came (elicitation, or inputResponses under 2026-07-28).
  Confirmation decide(const json &answer, const std::string &tool, const json &args, const std::string &why,
                      std::string_view outcome, ToolContext &ctx) {
    Confirmation c;
    if (!safety::confirmed(answer)) {
      c.instead = not_allowed(tool, args, "", "the user did not confirm (" + why + ")", outcome, ctx);
      return c;
    }
    c.go = true;
    return c;
  }

  // --- the tools --------------------------------------------------------------------------

  ToolResult list(const json &args, ToolContext &ctx) {
    ArgReader reader(args, {});
    if (!reader.ok())
      return invalid_arguments("list_access_tokens", args, reader.problems(), ctx);
    auto tokens = api_.list(ctx.cancel, deadline());
    if (!tokens)
      return upstream_failure("list_access_tokens", args, tokens.error(), false, ctx);
    learn(*tokens);
    auto bound = parent_bound(*ctx.ceiling);
    const policy::Ceiling &effective = bound ? *bound : *ctx.ceiling;
    // Domains beside the ids; without them (no websites:read, DataFast down) the list still works.
    policy::WebsiteNames names = websites_.names_fresh(ctx.cancel, deadline());
    json items = json::array();
    for (const model::AccessToken &t : *tokens) {
      json view = model::public_view(t);
      view["websites"] = named_websites(t.website_ids, names);
      std::vector<std::string> beyond = policy::exceeds(effective, scope_of(t), &names);
      bool is_server = display_key_matches(t.display_key, parent_);
      bool minted = ledger_->find(t.id).has_value();
      view["withinCeiling"] = beyond.empty();
      view["exceeds"] = beyond;
      view["isServerToken"] = is_server;
      view["mintedHere"] = minted;
      view["revocable"] = beyond.empty() && !is_server && display_key_well_formed(t.display_key) &&
                          (!options_.revoke_minted_only || minted);
      items.push_back(std::move(view));
    }
    spdlog::info("list_access_tokens for {}: {} tokens", ctx.client, items.size());
    record(ctx, "list_access_tokens", args, "allowed", "", 200);
    return ToolResult::success(json{{"tokens", items}, {"count", items.size()}, {"maxTokens", kMaxTokens}});
  }

  ToolResult create(const json &args, ToolContext &ctx) {
    const std::string tool = "create_access_token";
    ArgReader reader(args, {"name", "permissions", "websiteIds", "websites", "dryRun"});
    auto name = reader.string("name", true);
    auto permissions = reader.string_list("permissions", true);
    auto website_ids = reader.string_list("websiteIds", false);
    auto domains = reader.string_list("websites", false);
    bool dry_run = reader.boolean("dryRun");
    if (!reader.ok())
      return invalid_arguments(tool, args, reader.problems(), ctx);
    if (website_ids && domains)
      return invalid_arguments(tool, args,
                               {"/websites: give the websites either by id (websiteIds) or by domain (websites), "
                                "not both"},
                               ctx);
    auto until = *deadline(); // every upstream request of this call ends by then

    // 0. Websites named by domain become ids first (this reads the website list when stale); a
    //    domain that does not name exactly one website is refused.
    if (domains) {
      if (domains->empty())
        return invalid_arguments(tool, args,
                                 {"/websites: the list is empty; name at least one domain, or give websiteIds: [] "
                                  "for all websites of the account"},
                                 ctx);
      auto listed = websites_.get(ctx.cancel, until);
      if (!listed)
        return upstream_failure(tool, args, listed.error(), false, ctx,
                                websites_unreadable(listed.error(), tool + ": resolving websites by domain"));
      std::vector<model::Website> visible;
      auto bound = parent_bound(*ctx.ceiling);
      for (const model::Website &w : *listed)
        if ((bound ? *bound : *ctx.ceiling).websites.covers(w.id))
          visible.push_back(w);
      auto ids = resolve_domains(*domains, *listed, visible);
      if (!ids) {
        policy::Refusals problems;
        for (const DomainProblem &p : ids.error())
          problems.push_back({policy::RefusalKind::InvalidArgument, "/websites/" + std::to_string(p.index), p.message});
        return refused(tool, args, problems, kNothingSent, ctx);
      }
      website_ids = std::move(*ids);
    }
    policy::WebsiteNames names = websites_.names(); // known now; a refusal makes no request

    // 1. The configured ceiling: decided with no I/O at all.
    policy::CreateRequest request{*name, *permissions, website_ids};
    auto plan = policy::check_create(*ctx.ceiling, request, policy::Bound::ceiling(), &names);
    if (!plan) {
      if (domains)
        point_at_domains(plan.error());
      return refused(tool, args, plan.error(), kNothingSent, ctx);
    }

    // 2. The parent token's own scope (read from DataFast when not known or stale; a dry run
    //    uses only what is already known).
    if (!dry_run)
      ensure_fresh(ctx.cancel, until);
    if (auto bound = parent_bound(*ctx.ceiling)) {
      auto within = policy::check_create(*bound, request, parent_bound_name(), &names);
      if (!within) {
        if (domains)
          point_at_domains(within.error());
        return refused(tool, args, within.error(), kNothingSent, ctx);
      }
      plan = std::move(within); // omitted websiteIds then mean the effective ceiling's websites
    }
    plan->name = options_.name_prefix + plan->name;

    // 3. Quotas, per client.
    if (options_.max_creates_per_hour) {
      if (auto next = rate_.next_allowed(ctx.client, *options_.max_creates_per_hour)) {
        auto minutes = std::chrono::duration_cast<std::chrono::minutes>(*next - std::chrono::system_clock::now()).count() + 1;
        return not_allowed(tool, args, "",
                           "limits.maxCreatesPerHour (" + std::to_string(*options_.max_creates_per_hour) +
                               ") is used up for client '" + ctx.client + "'; the next create is allowed at " +
                               iso_time(*next) + " (in about " + std::to_string(minutes) + " min)",
                           kNothingSent, ctx);
      }
    }
    if (options_.max_live_minted) {
      int live = live_minted(ctx.client);
      if (live >= *options_.max_live_minted)
        return not_allowed(tool, args, "",
                           "limits.maxLiveMinted (" + std::to_string(*options_.max_live_minted) +
                               ") is reached: client '" + ctx.client + "' has " + std::to_string(live) +
                               " live tokens minted here (" + policy::join(ledger_->live_ids(ctx.client), ", ") +
                               "); revoke one to free a place",
                           kNothingSent, ctx);
    }

    json body{{"name", plan->name}, {"permissions", plan->permissions}, {"websiteIds", plan->website_ids}};
    std::string why = safety::create_needs_confirmation(options_.confirm, *plan);

    // 4. A dry run stops here: the decision and the exact body, nothing sent.
    if (dry_run) {
      std::string notice = "Dry run: this request would be allowed, and nothing was sent to DataFast.";
      if (!why.empty())
        notice += " The user would be asked to confirm it (" + why + ").";
      if (scope().state != ParentScopeView::State::Identified)
        notice += " The scope of this server's own token is not known yet, so DataFast could still refuse it.";
      record(ctx, tool, args, "dry-run", why.empty() ? "" : "would ask: " + why);
      return ToolResult::success(json{{"dryRun", true},
                                      {"wouldSend", {{"method", "POST"}, {"path", "/access-tokens"}, {"body", body}}},
                                      {"confirmation", why.empty() ? json(nullptr) : json(why)},
                                      {"notice", notice}});
    }

    // 5. A human's yes for broad grants.
    if (!why.empty()) {
      std::string question = "datafast-mcp: allow " + ctx.client + " to mint the DataFast token \"" + plan->name +
                             "\" with permissions " + policy::join(plan->permissions, ", ") + " on " +
                             describe_websites(plan->website_ids, &names) + "? It " + why + ".";
      Confirmation c = confirm(tool, args, question, why, kNothingSent, ctx);
      if (!c.go)
        return std::move(*c.instead);
    }

    // 6. Mint.
    auto created = api_.create(*plan, ctx.cancel, until);
    if (!created)
      return upstream_failure(tool, args, created.error(), true, ctx);
    const model::AccessToken &t = created->token;
    if (ctx.cancel && ctx.cancel->cancelled())
      return take_back(tool, args, t, "the request was cancelled after DataFast minted it", ctx);

    rate_.record(ctx.client);
    ledger_->minted({t.id, ctx.client, t.display_key, t.name.value_or(""), safety::utc_now_iso()});
    remember_created(t);

    json result{{"dryRun", false}, {"token", model::public_view(t)}};
    result["token"]["websites"] = named_websites(t.website_ids, names);
    std::string notice;
    if (options_.key_delivery == BrokerOptions::KeyDelivery::File) {
      auto path = safety::store_key(options_.keys_dir, t.id, created->key);
      if (!path)
        return take_back(tool, args, t, "its key could not be stored (" + path.error() + ")", ctx);
      result["keyFile"] = *path;
      notice = "The raw key was written to " + *path + " (mode 0600); it is not shown here. Hand the file to whoever "
               "needs the token.";
    } else {
      result["key"] = created->key.reveal();
      notice = "This is the only time the raw key is shown: pass it to whoever needs it or store it securely now.";
    }
    if (plan->websites_defaulted)
      notice += " websiteIds was omitted, so the token covers every website of the ceiling.";
    result["notice"] = notice;
    spdlog::info("{} for {}: created token {} ({}) permissions [{}] {}", tool, ctx.client, t.id, t.display_key,
                 policy::join(t.permissions, ", "), describe_websites(t.website_ids, &names));
    record(ctx, tool, args, "allowed", "", 200, &t);
    if (ctx.notify)
      ctx.notify("info", json{{"tool", tool}, {"decision", "allowed"}, {"tokenId", t.id}, {"displayKey", t.display_key}});
    return ToolResult::success(std::move(result));
  }

  // A token was minted but must not stay: nobody can receive its key.
  ToolResult take_back(const std::string &tool, const json &args, const model::AccessToken &t, const std::string &why,
                       ToolContext &ctx) {
    auto undone = api_.revoke(t.id, nullptr);
    std::string outcome = undone ? "revoked it again" : "revoking it failed (" +
                                                            upstream::describe(undone.error(), "revoke_access_token", true) +
                                                            "); revoke it by hand";
    spdlog::warn("{} for {}: DataFast minted token {} ({}), but {}; {}", tool, ctx.client, t.id, t.display_key, why,
                 outcome);
    record(ctx, tool, args, "failed", why + "; " + outcome, std::nullopt, &t);
    return ToolResult::failure(tool + ": DataFast minted token " + t.id + " (" + t.display_key + "), but " + why +
                               "; the server " + outcome + ".");
  }

  ToolResult revoke(const json &args, ToolContext &ctx) {
    const std::string tool = "revoke_access_token";
    ArgReader reader(args, {"tokenId"});
    auto id = reader.string("tokenId", true);
    if (reader.ok() && !policy::is_valid_id(*id))
      return not_allowed(tool, args, "/tokenId",
                         "'" + *id + "' is not a token id (1 to 64 letters, digits, '_' or '-'); list_access_tokens "
                         "shows the ids",
                         kNothingRevoked, ctx);
    if (!reader.ok())
      return invalid_arguments(tool, args, reader.problems(), ctx);

    // The target's scope decides, so it is read from DataFast first; nothing is deleted unless
    // it passes.
    auto until = *deadline();
    auto tokens = api_.list(ctx.cancel, until);
    if (!tokens)
      return upstream_failure(tool, args, tokens.error(), false, ctx);
    learn(*tokens);
    auto it = std::find_if(tokens->begin(), tokens->end(), [&](const model::AccessToken &t) { return t.id == *id; });
    if (it == tokens->end())
      return refused(tool, args,
                     {{policy::RefusalKind::NotFound, "/tokenId",
                       "no token '" + *id + "' in this account (already revoked, or never existed); "
                       "list_access_tokens shows the ids"}},
                     kNothingRevoked, ctx);
    // The server's own token is recognised by its displayKey; one in an unexpected shape could be
    // it, so it is refused rather than risked.
    if (!display_key_well_formed(it->display_key))
      return not_allowed(tool, args, "/tokenId",
                         "token '" + *id + "' has a displayKey this server cannot read ('" + it->display_key +
                             "'), so it cannot tell whether it is the token it runs on",
                         kNothingRevoked, ctx);
    bool is_server = display_key_matches(it->display_key, parent_);
    policy::WebsiteNames names = websites_.names(); // known now; a refusal makes no request
    if (auto verdict = policy::check_revoke(*ctx.ceiling, scope_of(*it), *id, is_server, policy::Bound::ceiling(),
                                            &names);
        !verdict)
      return refused(tool, args, verdict.error(), kNothingRevoked, ctx);
    if (auto bound = parent_bound(*ctx.ceiling)) {
      if (auto verdict = policy::check_revoke(*bound, scope_of(*it), *id, false, parent_bound_name(), &names); !verdict)
        return refused(tool, args, verdict.error(), kNothingRevoked, ctx);
    }
    if (options_.revoke_minted_only && !ledger_->find(*id))
      return not_allowed(tool, args, "/tokenId",
                         "token '" + *id + "' was not minted by this server, and revoke.scope is \"minted\": only "
                         "tokens minted here can be revoked here",
                         kNothingRevoked, ctx);
    if (options_.confirm == safety::ConfirmMode::Always) {
      std::string question = "datafast-mcp: allow " + ctx.client + " to revoke the DataFast token \"" +
                             it->name.value_or("") + "\" (" + it->display_key + ")? Anything using it stops working.";
      Confirmation c = confirm(tool, args, question, "revokes a token (confirm: always)", kNothingRevoked, ctx);
      if (!c.go)
        return std::move(*c.instead);
    }
    if (ctx.cancel && ctx.cancel->cancelled())
      return ToolResult::failure("revoke_access_token: cancelled before anything was revoked.");

    auto revoked = api_.revoke(*id, ctx.cancel, until);
    if (!revoked)
      return upstream_failure(tool, args, revoked.error(), true, ctx);
    ledger_->revoked(*id);
    remember_revoked(*id);
    spdlog::info("{} for {}: revoked token {} ({})", tool, ctx.client, it->id, it->display_key);
    record(ctx, tool, args, "allowed", "", 200, &*it);
    if (ctx.notify)
      ctx.notify("info", json{{"tool", tool}, {"decision", "allowed"}, {"tokenId", it->id}, {"displayKey", it->display_key}});
    return ToolResult::success(json{{"revoked", model::public_view(*it)},
                                    {"message", "Token " + it->id + " (" + it->display_key + ") was revoked; it no longer works."}});
  }

  ToolResult ceiling(const json &args, ToolContext &ctx) {
    ArgReader reader(args, {});
    if (!reader.ok())
      return invalid_arguments("get_token_ceiling", args, reader.problems(), ctx);
    // The answer depends only on the client's ceiling and on what is known of the parent token
    // (and on the quotas' counters, when quotas are set): without quotas, it is built and
    // serialized once per ceiling until the next read of the token list.
    // The website list is read when stale (for domains beside the ids); a failure leaves the ids.
    policy::WebsiteNames names = websites_.names_fresh(ctx.cancel, deadline());
    bool cacheable = !options_.max_creates_per_hour && !options_.max_live_minted;
    std::string cache_key;
    std::uint64_t generation = 0;
    if (cacheable) {
      cache_key = ctx.ceiling->permissions.describe() + "\n" + ctx.ceiling->websites.describe() + "\n" +
                  std::to_string(websites_.generation()) + "/" + std::to_string(names.size());
      std::lock_guard lock(mutex_);
      generation = scope_generation_;
      if (auto it = ceiling_cache_.find(cache_key); it != ceiling_cache_.end() && it->second.first == generation) {
        ToolResult cached = it->second.second;
        record(ctx, "get_token_ceiling", args, "allowed", "");
        return cached;
      }
    }
    ToolResult built = build_ceiling(*ctx.ceiling, names, ctx);
    if (cacheable) {
      built.text_json = std::make_shared<const std::string>(quote_json_string(built.text));
      std::lock_guard lock(mutex_);
      if (ceiling_cache_.size() > 64) // clients are few; bound it anyway
        ceiling_cache_.clear();
      ceiling_cache_[cache_key] = {generation, built};
    }
    record(ctx, "get_token_ceiling", args, "allowed", "");
    return built;
  }

  ToolResult build_ceiling(const policy::Ceiling &configured, const policy::WebsiteNames &names, ToolContext &ctx) {
    auto bound = parent_bound(configured);
    json view = ceiling_view(bound ? *bound : configured, &names);
    view["configured"] = json{{"permissions", configured.permissions.names()},
                              {"websiteIds", configured.websites.all ? json("*") : json(configured.websites.ids)}};
    if (!configured.websites.all)
      view["configured"]["websites"] = named_websites(configured.websites.ids, names);
    ParentScopeView parent = scope();
    json parent_json{{"state", parent.state == ParentScopeView::State::Identified ? "identified"
                                : parent.state == ParentScopeView::State::NotFound ? "not-found"
                                                                                    : "unknown"},
                     {"displayKey", parent_.display_key()}};
    if (parent.state == ParentScopeView::State::Identified) {
      parent_json["permissions"] = parent.scope.permissions;
      parent_json["websiteIds"] = parent.scope.website_ids;
    }
    view["parentScope"] = parent_json;
    json limits = json::object();
    if (options_.max_creates_per_hour)
      limits["maxCreatesPerHour"] = {{"limit", *options_.max_creates_per_hour}, {"used", rate_.used(ctx.client)}};
    if (options_.max_live_minted)
      limits["maxLiveMinted"] = {{"limit", *options_.max_live_minted}, {"live", live_minted(ctx.client)}};
    view["limits"] = limits;
    view["confirm"] = confirm_name(options_.confirm);
    view["keysDelivery"] = options_.key_delivery == BrokerOptions::KeyDelivery::File ? "file" : "result";
    view["revokeScope"] = options_.revoke_minted_only ? "minted" : "ceiling";
    if (parent.state == ParentScopeView::State::Unknown)
      view["rules"].push_back("this server's own token may hold less than this ceiling; its scope is learned on the "
                              "first call that reaches DataFast, and DataFast refuses anything beyond it");
    if (options_.revoke_minted_only)
      view["rules"].push_back("revoke_access_token: only tokens this server minted (mintedHere in list_access_tokens)");
    if (options_.confirm != safety::ConfirmMode::Never)
      view["rules"].push_back(std::string("the user is asked to confirm ") +
                              (options_.confirm == safety::ConfirmMode::Always ? "every create and revoke"
                                                                               : "any create that grants a :write "
                                                                                 "permission, * or all websites"));
    return ToolResult::success(std::move(view));
  }

private:
  // A tool call's deadline: upstream.timeoutMs from now, for all of its requests together.
  upstream::Deadline deadline() const { return std::chrono::steady_clock::now() + api_.timeout(); }

  upstream::AccountApi &api_;
  Secret parent_;
  BrokerOptions options_;
  safety::Ledger *ledger_ = nullptr;
  std::unique_ptr<safety::Ledger> own_ledger_;
  audit::AuditLog *audit_;
  safety::CreateRate rate_;
  safety::StateSealer sealer_;

  mutable std::mutex mutex_;
  ParentScopeView scope_;
  std::optional<std::vector<model::AccessToken>> tokens_;
  std::chrono::steady_clock::time_point learned_{};
  std::uint64_t scope_generation_ = 0;
  std::map<std::string, std::pair<std::uint64_t, ToolResult>> ceiling_cache_; // by ceiling

public:
  WebsiteDirectory websites_; // the parent's websites, for domains beside ids
};

json ceiling_view(const policy::Ceiling &c, const policy::WebsiteNames *names) {
  std::vector<std::string> rules;
  if (c.permissions.is_all())
    rules.push_back("permissions: any permission of the vocabulary, or \"*\" alone for full access");
  else
    rules.push_back("permissions: one or more of " + c.permissions.describe() + "; nothing else, and not \"*\"");
  if (c.websites.all)
    rules.push_back("websiteIds: required; list the website ids the token needs, or [] for all websites of the account");
  else
    rules.push_back("websiteIds: any of " + c.websites.describe(names) +
                    "; omit it for all of them; [] (all websites of the account) is not allowed");
  rules.push_back("websites: instead of websiteIds, the websites' domains (list_websites shows them); they are "
                  "resolved to ids before the ceiling is checked");
  rules.push_back("name: 1 to 100 characters, no control characters");
  rules.push_back("revoke_access_token: only tokens that lie within this ceiling, never the token this server runs on");
  json view{{"permissions", c.permissions.names()},
            {"websiteIds", c.websites.all ? json("*") : json(c.websites.ids)},
            {"allPermissions", c.permissions.is_all()},
            {"allWebsites", c.websites.all},
            {"rules", rules}};
  if (!c.websites.all)
    view["websites"] = named_websites(c.websites.ids, names ? *names : policy::WebsiteNames{});
  return view;
}

std::shared_ptr<Broker> register_token_tools(ToolRegistry &registry, upstream::AccountApi &api, Secret parent_token,
                                             BrokerOptions options, safety::Ledger *ledger, audit::AuditLog *audit) {
  auto broker = std::make_shared<Broker>(api, std::move(parent_token), std::move(options), ledger, audit);
  registry.add({"list_access_tokens", true,
                [broker](const json &a, ToolContext &c) { return broker->list(a, c); }});
  registry.add({"create_access_token", true,
                [broker](const json &a, ToolContext &c) { return broker->create(a, c); }});
  registry.add({"revoke_access_token", true,
                [broker](const json &a, ToolContext &c) { return broker->revoke(a, c); }});
  registry.add({"get_token_ceiling", true,
                [broker](const json &a, ToolContext &c) { return broker->ceiling(a, c); }});
  WebsiteToolDeps deps;
  deps.directory = &broker->websites_;
  deps.effective = [b = broker.get()](const policy::Ceiling &configured) {
    auto bound = b->parent_bound(configured);
    return bound ? *bound : configured;
  };
  deps.record = [b = broker.get()](const ToolContext &c, const json &a, const std::string &decision,
                                   const std::string &reason) {
    b->record(c, "list_websites", a, decision, reason, decision == "allowed" ? std::optional<int>(200) : std::nullopt);
  };
  register_website_tools(registry, std::move(deps));
  return broker;
}

WebsiteDirectory &website_directory(Broker &broker) { return broker.websites_; }

Expected<ParentScopeView, upstream::UpstreamError> refresh_parent_scope(Broker &broker, CancelToken *cancel) {
  return broker.refresh(cancel);
}

ParentScopeView parent_scope(const Broker &broker) { return broker.scope(); }

} // namespace dfmcp::tools
