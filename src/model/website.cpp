#include "model/website.hpp"

#include "policy/ceiling.hpp"

namespace dfmcp::model {

namespace {

// An optional string member: absent or null give nullopt; any other type is an error.
Expected<std::optional<std::string>, std::string> optional_string(const json &object,
                                                                  const char *key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string())
    return unexpected(std::string(key) + " is " + json_type_name(*it) + ", not a string");
  return std::optional<std::string>{it->get<std::string>()};
}

} // namespace

Expected<Website, std::string> website_from_json(const json &value) {
  if (!value.is_object())
    return unexpected("a website is " + json_type_name(value) + ", not an object");
  Website w;
  auto id = optional_string(value, "_id");
  if (!id) return unexpected(id.error());
  if (!*id) {
    id = optional_string(value, "id");
    if (!id) return unexpected(id.error());
  }
  if (!*id) return unexpected(std::string("a website has no _id or id"));
  if (!policy::is_valid_id(**id)) return unexpected("a website id is not an id ('" + **id + "')");
  w.id = **id;
  auto domain = optional_string(value, "domain");
  if (!domain) return unexpected("website " + w.id + ": " + domain.error());
  if (!*domain || (*domain)->empty()) return unexpected("website " + w.id + " has no domain");
  w.domain = **domain;
  auto name = optional_string(value, "name");
  if (!name) return unexpected("website " + w.id + ": " + name.error());
  w.name = *name;
  for (auto [key, slot] :
       {std::pair{"trackingId", &w.tracking_id}, std::pair{"timezone", &w.timezone},
        std::pair{"currency", &w.currency}}) {
    auto s = optional_string(value, key);
    if (!s) return unexpected("website " + w.id + ": " + s.error());
    *slot = s->value_or("");
  }
  auto role = optional_string(value, "role");
  if (!role) return unexpected("website " + w.id + ": " + role.error());
  if (!*role) return unexpected("website " + w.id + " has no role");
  if (**role == "owner")
    w.role = WebsiteRole::Owner;
  else if (**role == "member")
    w.role = WebsiteRole::Member;
  else if (**role == "viewer")
    w.role = WebsiteRole::Viewer;
  else
    return unexpected("website " + w.id + ": role '" + **role + "' is not owner, member or viewer");
  return w;
}

const char *role_name(WebsiteRole role) {
  switch (role) {
  case WebsiteRole::Owner:
    return "owner";
  case WebsiteRole::Member:
    return "member";
  case WebsiteRole::Viewer:
    return "viewer";
  }
  return "viewer";
}

} // namespace dfmcp::model
