#include "policy/ceiling.hpp"

#include "policy/name.hpp"

#include <algorithm>
#include <set>

namespace dfmcp::policy {

namespace {

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string pointer(std::string_view field, std::size_t index) {
  return std::string(field) + "/" + std::to_string(index);
}

struct Indexed {
  std::size_t index; // position in the list as given
  Permission permission;
};

// Checks a list of permission strings; records problems, returns the valid, distinct ones.
std::vector<Indexed> parse_permissions(const std::vector<std::string> &names,
                                       std::string_view field, Refusals &out) {
  std::vector<Indexed> parsed;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string &name = names[i];
    auto p = Permission::parse(name);
    if (!p) {
      std::string msg = quote(name) + " is not a DataFast permission";
      if (auto hint = suggest_permission(name))
        msg += " (did you mean " + quote(*hint) + "? permissions are spelled exactly)";
      msg += "; the permissions are: " + join(std::vector<std::string>(vocabulary().begin(),
                                                                       vocabulary().end()),
                                              ", ");
      out.push_back({RefusalKind::InvalidArgument, pointer(field, i), msg});
      continue;
    }
    if (!seen.insert(p->name()).second) {
      out.push_back({RefusalKind::InvalidArgument, pointer(field, i),
                     quote(name) + " is listed twice; list each permission once"});
      continue;
    }
    parsed.push_back({i, *p});
  }
  auto star = std::find_if(parsed.begin(), parsed.end(),
                           [](const Indexed &x) { return x.permission.is_all(); });
  if (parsed.size() > 1 && star != parsed.end()) {
    out.push_back({RefusalKind::InvalidArgument, pointer(field, star->index),
                   "'*' already grants every permission; list it alone or list the permissions "
                   "without it"});
  }
  return parsed;
}

void check_website_ids(const std::vector<std::string> &ids, std::string_view field,
                       Refusals &out, const WebsiteNames *names = nullptr) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!is_valid_id(ids[i]))
      out.push_back({RefusalKind::InvalidArgument, pointer(field, i),
                     quote(ids[i]) + " is not a website id (1 to 64 letters, digits, '_' or '-')"});
    else if (!seen.insert(ids[i]).second)
      out.push_back({RefusalKind::InvalidArgument, pointer(field, i),
                     "website " + website_label(ids[i], names) + " is listed twice; list each website once"});
  }
}

} // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

bool WebsiteScope::covers(std::string_view id) const {
  return all || std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::string website_label(std::string_view id, const WebsiteNames *names) {
  if (names != nullptr)
    if (auto it = names->find(id); it != names->end())
      return quote(it->second) + " (" + std::string(id) + ")";
  return quote(id);
}

std::string WebsiteScope::describe(const WebsiteNames *names) const {
  if (all)
    return "all websites (*)";
  if (names == nullptr)
    return join(ids, ", ");
  std::vector<std::string> named;
  for (const std::string &id : ids) {
    auto it = names->find(id);
    named.push_back(it == names->end() ? id : it->second + " (" + id + ")");
  }
  return join(named, ", ");
}

Expected<CreatePlan, Refusals> check_create(const Ceiling &ceiling, const CreateRequest &request,
                                            const Bound &bound, const WebsiteNames *names) {
  const RefusalKind beyond_kind =
      bound.kind == RefusalKindTag::Parent ? RefusalKind::BeyondParent : RefusalKind::BeyondCeiling;
  Refusals out;
  if (auto problem = name_problem(request.name))
    out.push_back({RefusalKind::InvalidArgument, "/name", "the name is " + *problem});

  if (request.permissions.empty()) {
    out.push_back({RefusalKind::InvalidArgument, "/permissions",
                   "the list is empty; name at least one permission (DataFast would read an "
                   "empty list as full access); allowed: " + ceiling.permissions.describe()});
  }
  CreatePlan plan;
  plan.name = request.name;
  for (const Indexed &x : parse_permissions(request.permissions, "/permissions", out)) {
    if (!ceiling.permissions.covers(x.permission)) {
      std::string what =
          x.permission.is_all() ? "'*' (full access)" : quote(x.permission.name());
      out.push_back({beyond_kind, pointer("/permissions", x.index),
                     what + " is beyond " + bound.name + "; allowed: " + ceiling.permissions.describe()});
    }
    plan.permissions.emplace_back(x.permission.name());
  }

  if (!request.website_ids) {
    if (ceiling.websites.all) {
      out.push_back({RefusalKind::InvalidArgument, "/websiteIds",
                     "required under this ceiling, which covers all websites: list the website ids "
                     "the token needs, or [] for all websites of the account"});
    } else {
      plan.website_ids = ceiling.websites.ids;
      plan.websites_defaulted = true;
    }
  } else if (request.website_ids->empty()) {
    if (!ceiling.websites.all)
      out.push_back({beyond_kind, "/websiteIds",
                     "[] means all websites of the account, which is beyond " + bound.name + "; allowed: "
                     "any of " + ceiling.websites.describe(names) + " (omit websiteIds for all of them)"});
  } else {
    const auto &ids = *request.website_ids;
    std::size_t before = out.size();
    check_website_ids(ids, "/websiteIds", out, names);
    if (out.size() == before) {
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (!ceiling.websites.covers(ids[i]))
          out.push_back({beyond_kind, pointer("/websiteIds", i),
                         "website " + website_label(ids[i], names) + " is beyond " + bound.name +
                             "; allowed: " + ceiling.websites.describe(names)});
    }
    plan.website_ids = ids;
  }

  if (!out.empty())
    return unexpected(std::move(out));
  return plan;
}

std::vector<std::string> exceeds(const Ceiling &ceiling, const TokenScope &token,
                                 const WebsiteNames *names) {
  std::vector<std::string> out;
  for (const std::string &name : token.permissions) {
    auto p = Permission::parse(name);
    if (ceiling.permissions.is_all())
      continue;
    if (!p)
      out.push_back("permission " + quote(name) + " (unknown to this server)");
    else if (!ceiling.permissions.covers(*p))
      out.push_back(p->is_all() ? "permission '*' (full access)" : "permission " + quote(name));
  }
  if (token.permissions.empty() && !ceiling.permissions.is_all())
    out.push_back("no permission list (DataFast reads it as full access)");
  if (token.website_ids.empty()) {
    if (!ceiling.websites.all)
      out.push_back("all websites");
  } else {
    for (const std::string &id : token.website_ids)
      if (!ceiling.websites.covers(id))
        out.push_back("website " + website_label(id, names));
  }
  return out;
}

std::vector<std::string> ceiling_beyond(const Ceiling &inner, const Ceiling &outer,
                                        const WebsiteNames *names) {
  return exceeds(outer,
                 TokenScope{inner.permissions.names(),
                            inner.websites.all ? std::vector<std::string>{} : inner.websites.ids},
                 names);
}

Expected<Ok, Refusals> check_revoke(const Ceiling &ceiling, const TokenScope &token,
                                    std::string_view token_id, bool is_server_token,
                                    const Bound &bound, const WebsiteNames *names) {
  Refusals out;
  if (is_server_token)
    out.push_back({RefusalKind::NotAllowed, "/tokenId",
                   "token " + quote(token_id) + " is the token this server runs on; it can never be "
                   "revoked through this server"});
  std::vector<std::string> beyond = exceeds(ceiling, token, names);
  if (!beyond.empty())
    out.push_back({bound.kind == RefusalKindTag::Parent ? RefusalKind::BeyondParent : RefusalKind::BeyondCeiling,
                   "/tokenId",
                   "token " + quote(token_id) + " holds more than " + bound.name + " (" + join(beyond, ", ") +
                       "); only tokens within it can be revoked here; it allows permissions " +
                       ceiling.permissions.describe() + "; websites " + ceiling.websites.describe(names)});
  if (!out.empty())
    return unexpected(std::move(out));
  return Ok{};
}

Ceiling intersect(const Ceiling &configured, const TokenScope &parent) {
  Ceiling out;
  bool parent_all = parent.permissions.empty() || // DataFast reads no list as full access
                    std::find(parent.permissions.begin(), parent.permissions.end(), "*") != parent.permissions.end();
  if (parent_all) {
    out.permissions = configured.permissions;
  } else {
    for (const std::string &name : parent.permissions)
      if (auto p = Permission::parse(name); p && configured.permissions.covers(*p))
        out.permissions.add(*p);
  }
  if (parent.website_ids.empty()) { // the parent covers all websites
    out.websites = configured.websites;
  } else if (configured.websites.all) {
    out.websites.ids = parent.website_ids;
  } else {
    for (const std::string &id : configured.websites.ids)
      if (std::find(parent.website_ids.begin(), parent.website_ids.end(), id) != parent.website_ids.end())
        out.websites.ids.push_back(id);
  }
  return out;
}

Expected<Ceiling, Refusals> make_ceiling(const CeilingSpec &spec) {
  Refusals out;
  Ceiling ceiling;
  if (spec.permissions.empty())
    out.push_back({RefusalKind::InvalidArgument, "permissions",
                   "an empty list would allow nothing; list permissions or use [\"*\"]"});
  for (const Indexed &x : parse_permissions(spec.permissions, "permissions", out))
    ceiling.permissions.add(x.permission);
  if (!spec.website_ids) {
    ceiling.websites = WebsiteScope::everything();
  } else if (spec.website_ids->empty()) {
    out.push_back({RefusalKind::InvalidArgument, "websiteIds",
                   "an empty list is ambiguous (DataFast reads [] as all websites); list website "
                   "ids, or use \"*\" for all websites"});
  } else {
    check_website_ids(*spec.website_ids, "websiteIds", out);
    ceiling.websites.ids = *spec.website_ids;
  }
  if (!out.empty())
    return unexpected(std::move(out));
  return ceiling;
}

} // namespace dfmcp::policy
