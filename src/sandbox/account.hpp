// The sandbox account: DataFast's access-token endpoints (list, create, delete under
// /api/v1/admin/access-tokens) and the website list (GET /websites) as
// ../shared/docs/datafast-api.md describes them, as a pure state machine over (method, path,
// Authorization header, body). No I/O; not thread-safe (Sandbox locks).
#pragma once

#include "secret.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dfmcp::sandbox {

struct Website {
  std::string id;
  std::string domain;
  std::optional<std::string> name;
  std::string tracking_id;
  std::string timezone;
  std::string currency;
  std::string role; // the account user's role: "owner", "member" or "viewer"
};

struct Token {
  std::string id; // 24 lowercase hex digits, like a MongoDB ObjectId
  std::optional<std::string> name;
  Secret key; // the raw dft_ key
  std::string owner;
  std::vector<std::string> permissions;  // ["*"] is full access
  std::vector<std::string> website_ids;  // [] is all websites
  std::string created_at;                // ISO-8601, e.g. 2026-05-21T00:00:00.000Z
  std::optional<std::string> last_used_at;
  std::string display_key() const { return key.display_key(); }
};

struct HttpResponse {
  int status = 200;
  std::string body; // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

class Account {
public:
  static constexpr std::size_t kMaxTokens = 20;
  static constexpr std::string_view kSelf = "user-self";
  static constexpr std::string_view kOther = "user-other";

  // Seeds three websites (fixed ids, see seeded_website_ids(): shop.example as owner,
  // blog.example as member, docs.example as viewer), the parent token (["*"], all websites), two
  // more tokens of this user, and one token owned by another user.
  Account();

  // Serves one request. `path` is relative to the API base, e.g. "/access-tokens" or
  // "/access-tokens/<id>"; `authorization` is the raw header value ("" when absent).
  HttpResponse handle(std::string_view method, std::string_view path, std::string_view authorization,
                      std::string_view body);

  const Secret &parent_token() const;
  const std::vector<Website> &websites() const { return websites_; }
  std::vector<Website> &websites() { return websites_; } // test set-up (e.g. a duplicate domain)
  // Replaces the parent token's permissions (test set-up: a parent without websites:read).
  void set_parent_permissions(std::vector<std::string> permissions);
  // Replaces the parent token's website scope ([] is all websites).
  void set_parent_websites(std::vector<std::string> website_ids);
  const std::vector<Token> &tokens() const { return tokens_; } // all users' tokens
  // Adds a token directly (test set-up); returns its id.
  std::string add_token(std::optional<std::string> name, std::vector<std::string> permissions,
                        std::vector<std::string> website_ids, std::string owner = std::string(kSelf));
  // The ids of the seeded websites, fixed so that example configs can name them.
  static std::vector<std::string> seeded_website_ids();

private:
  std::vector<Website> websites_;
  std::vector<Token> tokens_;
  std::size_t parent_index_ = 0;
};

} // namespace dfmcp::sandbox
