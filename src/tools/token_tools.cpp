#include "tools/token_tools.hpp"

#include "tools/schemas.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace dfmcp::tools {

namespace {

constexpr std::size_t kMaxTokens = 20; // DataFast's documented per-account limit
constexpr std::string_view kNothingRevoked = "Nothing was revoked.";

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
        problems_.push_back("/" + key + "/" + std::to_string(i) + ": must be a string, got " +
                            json_type_name(item));
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

ToolResult invalid_arguments(std::string_view tool, const std::vector<std::string> &problems,
                             ToolContext &ctx) {
  spdlog::warn("{}: invalid arguments from {}: {}", tool, ctx.client, policy::join(problems, "; "));
  return ToolResult::failure("Invalid arguments. Nothing was sent to DataFast." +
                             bullet_list(problems));
}

// `outcome` says what did not happen: "Nothing was sent to DataFast." or "Nothing was revoked."
ToolResult refused(std::string_view tool, const policy::Refusals &refusals, std::string_view outcome,
                   ToolContext &ctx) {
  std::vector<std::string> lines;
  bool beyond = false;
  for (const policy::Refusal &r : refusals) {
    lines.push_back(r.to_string());
    beyond = beyond || r.kind == policy::RefusalKind::BeyondCeiling;
  }
  spdlog::warn("{}: refused for {}: {}", tool, ctx.client, policy::join(lines, "; "));
  if (ctx.notify)
    ctx.notify("warning", json{{"tool", tool}, {"decision", "refused"}, {"reasons", lines}});
  std::string head = (beyond ? "Refused: the request goes beyond this server's token ceiling. "
                               : "Refused. ") +
                     std::string(outcome);
  std::string tail = beyond ? "\nCall get_token_ceiling to see what fits, and ask for the least "
                              "the task needs."
                            : "";
  return ToolResult::failure(head + bullet_list(lines) + tail);
}

ToolResult upstream_failure(std::string_view tool, const upstream::UpstreamError &error, bool write,
                            ToolContext &ctx) {
  std::string message = upstream::describe(error, tool, write);
  spdlog::error("{}", message);
  if (ctx.notify)
    ctx.notify("error", json{{"tool", tool}, {"decision", "failed"}, {"reason", message}});
  return ToolResult::failure(message);
}

policy::TokenScope scope_of(const model::AccessToken &t) { return {t.permissions, t.website_ids}; }

std::vector<std::string> rules(const policy::Ceiling &c) {
  std::vector<std::string> out;
  if (c.permissions.is_all())
    out.push_back("permissions: any permission of the vocabulary, or \"*\" alone for full access");
  else
    out.push_back("permissions: one or more of " + c.permissions.describe() +
                  "; nothing else, and not \"*\"");
  if (c.websites.all)
    out.push_back("websiteIds: required; list the website ids the token needs, or [] for all "
                  "websites of the account");
  else
    out.push_back("websiteIds: any of " + c.websites.describe() +
                  "; omit it for all of them; [] (all websites of the account) is not allowed");
  out.push_back("name: 1 to 100 characters, no control characters");
  out.push_back("revoke_access_token: only tokens that lie within this ceiling, never the token "
                "this server runs on");
  return out;
}

struct Deps {
  upstream::AccountApi &api;
  Secret parent;
};

ToolResult list_tokens(Deps &deps, const json &args, ToolContext &ctx) {
  ArgReader reader(args, {});
  if (!reader.ok())
    return invalid_arguments("list_access_tokens", reader.problems(), ctx);
  auto tokens = deps.api.list(ctx.cancel);
  if (!tokens)
    return upstream_failure("list_access_tokens", tokens.error(), false, ctx);
  json items = json::array();
  for (const model::AccessToken &t : *tokens) {
    json view = model::public_view(t);
    std::vector<std::string> beyond = policy::exceeds(*ctx.ceiling, scope_of(t));
    bool is_server = display_key_matches(t.display_key, deps.parent);
    view["withinCeiling"] = beyond.empty();
    view["exceeds"] = beyond;
    view["isServerToken"] = is_server;
    view["revocable"] = beyond.empty() && !is_server && display_key_well_formed(t.display_key);
    items.push_back(std::move(view));
  }
  spdlog::info("list_access_tokens for {}: {} tokens", ctx.client, items.size());
  return ToolResult::success(
      json{{"tokens", items}, {"count", items.size()}, {"maxTokens", kMaxTokens}});
}

ToolResult create_token(Deps &deps, const json &args, ToolContext &ctx) {
  ArgReader reader(args, {"name", "permissions", "websiteIds"});
  auto name = reader.string("name", true);
  auto permissions = reader.string_list("permissions", true);
  auto website_ids = reader.string_list("websiteIds", false);
  if (!reader.ok())
    return invalid_arguments("create_access_token", reader.problems(), ctx);

  policy::CreateRequest request{*name, *permissions, website_ids};
  auto plan = policy::check_create(*ctx.ceiling, request);
  if (!plan)
    return refused("create_access_token", plan.error(), "Nothing was sent to DataFast.", ctx);

  auto created = deps.api.create(*plan, ctx.cancel);
  if (!created)
    return upstream_failure("create_access_token", created.error(), true, ctx);
  const model::AccessToken &t = created->token;
  if (ctx.cancel && ctx.cancel->cancelled()) {
    // Nobody will receive the key: a live token nobody holds is only a risk, so take it back.
    auto undone = deps.api.revoke(t.id, nullptr);
    if (undone)
      spdlog::warn("create_access_token for {}: cancelled after DataFast minted token {} ({}); "
                   "revoked it again, since its key could not be delivered",
                   ctx.client, t.id, t.display_key);
    else
      spdlog::error("create_access_token for {}: cancelled after DataFast minted token {} ({}), "
                    "and revoking it failed: {}; revoke it by hand",
                    ctx.client, t.id, t.display_key,
                    upstream::describe(undone.error(), "revoke_access_token", true));
    return ToolResult::failure("create_access_token: cancelled; the token DataFast minted was "
                               "revoked again.");
  }
  spdlog::info("create_access_token for {}: created token {} ({}) permissions [{}] websites [{}]",
               ctx.client, t.id, t.display_key, policy::join(t.permissions, ", "),
               t.website_ids.empty() ? "all" : policy::join(t.website_ids, ", "));
  if (ctx.notify)
    ctx.notify("info", json{{"tool", "create_access_token"},
                            {"decision", "allowed"},
                            {"tokenId", t.id},
                            {"displayKey", t.display_key}});
  std::string notice = "This is the only time the raw key is shown: pass it to whoever needs it "
                       "or store it securely now.";
  if (plan->websites_defaulted)
    notice += " websiteIds was omitted, so the token covers every website of the ceiling.";
  return ToolResult::success(json{{"token", model::public_view(t)},
                                  {"key", created->key.reveal()},
                                  {"notice", notice}});
}

ToolResult revoke_token(Deps &deps, const json &args, ToolContext &ctx) {
  ArgReader reader(args, {"tokenId"});
  auto id = reader.string("tokenId", true);
  if (reader.ok() && !policy::is_valid_id(*id))
    return refused("revoke_access_token",
                   {{policy::RefusalKind::InvalidArgument, "/tokenId",
                     "'" + *id + "' is not a token id (1 to 64 letters, digits, '_' or '-'); "
                     "list_access_tokens shows the ids"}},
                   kNothingRevoked, ctx);
  if (!reader.ok())
    return invalid_arguments("revoke_access_token", reader.problems(), ctx);

  // The target's scope decides, so it is read from DataFast first; nothing is deleted unless it
  // passes.
  auto tokens = deps.api.list(ctx.cancel);
  if (!tokens)
    return upstream_failure("revoke_access_token", tokens.error(), false, ctx);
  auto it = std::find_if(tokens->begin(), tokens->end(),
                         [&](const model::AccessToken &t) { return t.id == *id; });
  if (it == tokens->end())
    return refused("revoke_access_token",
                   {{policy::RefusalKind::NotFound, "/tokenId",
                     "no token '" + *id + "' in this account (already revoked, or never existed); "
                     "list_access_tokens shows the ids"}},
                   kNothingRevoked, ctx);
  // The server's own token is recognised by its displayKey; one in an unexpected shape could be
  // it, so it is refused rather than risked.
  if (!display_key_well_formed(it->display_key))
    return refused("revoke_access_token",
                   {{policy::RefusalKind::NotAllowed, "/tokenId",
                     "token '" + *id + "' has a displayKey this server cannot read ('" +
                         it->display_key + "'), so it cannot tell whether it is the token it runs on"}},
                   kNothingRevoked, ctx);
  bool is_server = display_key_matches(it->display_key, deps.parent);
  if (auto verdict = policy::check_revoke(*ctx.ceiling, scope_of(*it), *id, is_server); !verdict)
    return refused("revoke_access_token", verdict.error(), kNothingRevoked, ctx);
  if (ctx.cancel && ctx.cancel->cancelled())
    return ToolResult::failure("revoke_access_token: cancelled before anything was revoked.");

  auto revoked = deps.api.revoke(*id, ctx.cancel);
  if (!revoked)
    return upstream_failure("revoke_access_token", revoked.error(), true, ctx);
  spdlog::info("revoke_access_token for {}: revoked token {} ({})", ctx.client, it->id,
               it->display_key);
  if (ctx.notify)
    ctx.notify("info", json{{"tool", "revoke_access_token"},
                            {"decision", "allowed"},
                            {"tokenId", it->id},
                            {"displayKey", it->display_key}});
  return ToolResult::success(json{{"revoked", model::public_view(*it)},
                                  {"message", "Token " + it->id + " (" + it->display_key +
                                                  ") was revoked; it no longer works."}});
}

ToolResult get_ceiling(const json &args, ToolContext &ctx) {
  ArgReader reader(args, {});
  if (!reader.ok())
    return invalid_arguments("get_token_ceiling", reader.problems(), ctx);
  return ToolResult::success(ceiling_view(*ctx.ceiling));
}

} // namespace

json ceiling_view(const policy::Ceiling &c) {
  return json{{"permissions", c.permissions.names()},
              {"websiteIds", c.websites.all ? json("*") : json(c.websites.ids)},
              {"allPermissions", c.permissions.is_all()},
              {"allWebsites", c.websites.all},
              {"rules", rules(c)}};
}

void register_token_tools(ToolRegistry &registry, upstream::AccountApi &api, Secret parent_token) {
  auto deps = std::make_shared<Deps>(Deps{api, std::move(parent_token)});
  registry.add({tool_definition("list_access_tokens"), true,
                [deps](const json &a, ToolContext &c) { return list_tokens(*deps, a, c); }});
  registry.add({tool_definition("create_access_token"), true,
                [deps](const json &a, ToolContext &c) { return create_token(*deps, a, c); }});
  registry.add({tool_definition("revoke_access_token"), true,
                [deps](const json &a, ToolContext &c) { return revoke_token(*deps, a, c); }});
  registry.add({tool_definition("get_token_ceiling"), false, get_ceiling});
}

} // namespace dfmcp::tools
