// A DataFast account token as the Account API reports it, parsed once at the edge, and the public
// view this server shows agents (never a raw key).
#pragma once

#include "secret.hpp"
#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dfmcp::model {

struct AccessToken {
  std::string id;
  std::optional<std::string> name;
  std::string display_key;
  std::string scope;
  std::vector<std::string> permissions;
  std::vector<std::string> website_ids; // empty means all websites
  std::optional<std::string> created_at;
  std::optional<std::string> last_used_at;
};

struct CreatedToken {
  AccessToken token;
  Secret key; // the raw key, returned by DataFast once
};

// Parses one element of DataFast's `data` array. The id may be `_id` or `id` (the docs use both);
// unknown fields are ignored; a raw `key` is never kept here.
Expected<AccessToken, std::string> token_from_json(const json &value);

// {"id","name","displayKey","scope","permissions","websiteIds","allWebsites","createdAt","lastUsedAt"}
json public_view(const AccessToken &token);

} // namespace dfmcp::model
