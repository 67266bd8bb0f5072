// A DataFast website as GET /websites reports it (the caller's role included), parsed once at the
// edge, strictly: an entry without an id or a domain, or with an unknown role, is refused.
#pragma once

#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <optional>
#include <string>

namespace dfmcp::model {

enum class WebsiteRole { Owner, Member, Viewer };

struct Website {
  std::string id;
  std::string domain;
  std::optional<std::string> name;
  std::string tracking_id;
  std::string timezone;
  std::string currency;
  WebsiteRole role = WebsiteRole::Viewer;
};

// Parses one element of DataFast's `data` array. The id may be `_id` or `id`; unknown fields are
// ignored; `name`, `trackingId`, `timezone` and `currency` may be absent or null.
Expected<Website, std::string> website_from_json(const json &value);

const char *role_name(WebsiteRole role); // "owner", "member", "viewer"

} // namespace dfmcp::model
