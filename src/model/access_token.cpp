#include "model/access_token.hpp"

namespace dfmcp::model {

namespace {

Expected<std::vector<std::string>, std::string> string_list(const json &object, const char *key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null())
    return out;
  if (!it->is_array())
    return unexpected(std::string(key) + " is " + json_type_name(*it) + ", not a list");
  for (const json &item : *it) {
    if (!item.is_string())
      return unexpected(std::string(key) + " holds a " + json_type_name(item) + ", not a string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<std::string> optional_string(const json &object, const char *key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

json nullable(const std::optional<std::string> &s) { return s ? json(*s) : json(nullptr); }

} // namespace

Expected<AccessToken, std::string> token_from_json(const json &value) {
  if (!value.is_object())
    return unexpected("a token is " + json_type_name(value) + ", not an object");
  AccessToken t;
  if (auto id = optional_string(value, "_id"))
    t.id = *id;
  else if (auto alt = optional_string(value, "id"))
    t.id = *alt;
  else
    return unexpected(std::string("a token has no _id or id"));
  t.name = optional_string(value, "name");
  t.display_key = optional_string(value, "displayKey").value_or("");
  t.scope = optional_string(value, "scope").value_or("");
  auto perms = string_list(value, "permissions");
  if (!perms)
    return unexpected("token " + t.id + ": " + perms.error());
  t.permissions = std::move(*perms);
  auto sites = string_list(value, "websiteIds");
  if (!sites)
    return unexpected("token " + t.id + ": " + sites.error());
  t.website_ids = std::move(*sites);
  t.created_at = optional_string(value, "createdAt");
  t.last_used_at = optional_string(value, "lastUsedAt");
  return t;
}

json public_view(const AccessToken &token) {
  // Built key by key: an initializer list makes nlohmann copy every value twice, and a list of
  // twenty tokens spent most of its time here.
  json out = json::object();
  out.emplace("id", token.id);
  out.emplace("name", nullable(token.name));
  out.emplace("displayKey", token.display_key);
  out.emplace("scope", token.scope);
  out.emplace("permissions", token.permissions);
  out.emplace("websiteIds", token.website_ids);
  out.emplace("allWebsites", token.website_ids.empty());
  out.emplace("createdAt", nullable(token.created_at));
  out.emplace("lastUsedAt", nullable(token.last_used_at));
  return out;
}

} // namespace dfmcp::model
