#include "sandbox/account.hpp"

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace dfmcp::sandbox {

namespace {

using nlohmann::json;

// clang-format off
constexpr std::array<std::string_view, 19> kPermissionVocabulary = {
    "analytics:read", "goals:read", "goals:write", "payments:read", "payments:write",
    "identify:write", "websites:read", "websites:write", "settings:read", "settings:write",
    "funnels:read", "funnels:write", "alerts:read", "alerts:write", "team:read", "team:write",
    "api-keys:read", "api-keys:write", "*"};
// clang-format on

constexpr std::string_view kTokensPath = "/access-tokens";
constexpr std::string_view kWebsitesPath = "/websites";
constexpr std::size_t kKeyLength = 40;
// Deeper bodies are refused before json::parse: nlohmann parses them iteratively but copies and
// dumps them recursively (platform notes §7).
constexpr std::size_t kMaxJsonDepth = 64;
// parent_index_ once the parent has been revoked.
constexpr std::size_t kNoParent = std::numeric_limits<std::size_t>::max();

void random_bytes(unsigned char *out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("sandbox: RAND_bytes failed");
}

std::string random_token_id() {
  std::array<unsigned char, 12> bytes{};
  random_bytes(bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 0x0f]);
  }
  return id;
}

Secret random_key() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // 248 = 4 * 62: bytes at or above it are dropped so that every character is equally likely.
  constexpr unsigned kUnbiasedLimit = 248;
  std::string key = "dft_";
  std::array<unsigned char, 64> pool{};
  while (key.size() < 4 + kKeyLength) {
    random_bytes(pool.data(), pool.size());
    for (unsigned char b : pool) {
      if (b < kUnbiasedLimit && key.size() < 4 + kKeyLength)
        key.push_back(kAlphabet[b % kAlphabet.size()]);
    }
  }
  return Secret(std::move(key));
}

std::string now_iso8601() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + ms / 10 % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  out.push_back('Z');
  return out;
}

std::string dump(const json &j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse success(json data) {
  return {200, dump(json{{"status", "success"}, {"data", std::move(data)}}), {}};
}

HttpResponse error(int status, const std::string &message) {
  return {status,
          dump(json{{"status", "error"}, {"error", {{"code", status}, {"message", message}}}}),
          {}};
}

bool contains(const std::vector<std::string> &list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool has_permission(const Token &token, std::string_view permission) {
  return contains(token.permissions, "*") || contains(token.permissions, permission);
}

json optional_string(const std::optional<std::string> &value) {
  return value ? json(*value) : json(nullptr);
}

json public_view(const Token &token) {
  return json{{"_id", token.id},
              {"name", optional_string(token.name)},
              {"displayKey", token.display_key()},
              {"scope", "user"},
              {"permissions", token.permissions},
              {"websiteIds", token.website_ids},
              {"lastUsedAt", optional_string(token.last_used_at)},
              {"createdAt", token.created_at}};
}

// Counts nesting while scanning, so a hostile body is refused before any tree is built.
class DepthLimit : public nlohmann::json_sax<json> {
public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return ++depth_ <= kMaxJsonDepth; }
  bool key(string_t &) override { return true; }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return ++depth_ <= kMaxJsonDepth; }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override {
    return false;
  }

private:
  std::size_t depth_ = 0;
};

std::optional<json> parse_body(std::string_view body) {
  DepthLimit limit;
  if (!json::sax_parse(body, &limit))
    return std::nullopt;
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded())
    return std::nullopt;
  return parsed;
}

// Reads an optional array of strings; nullopt when the member is absent. `ok` turns false when the
// member is present but not an array of strings.
std::optional<std::vector<std::string>> string_array(const json &object, const char *member,
                                                     bool &ok) {
  ok = true;
  auto it = object.find(member);
  if (it == object.end())
    return std::nullopt;
  if (!it->is_array()) {
    ok = false;
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto &item : *it) {
    if (!item.is_string()) {
      ok = false;
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

} // namespace

Account::Account() {
  const auto ids = seeded_website_ids();
  websites_ = {{ids[0], "shop.example", "Shop", "df_shop0001", "Europe/Paris", "EUR", "owner"},
               {ids[1], "blog.example", "Blog", "df_blog0002", "America/New_York", "USD", "member"},
               {ids[2], "docs.example", std::nullopt, "df_docs0003", "UTC", "USD", "viewer"}};
  add_token("datafast-mcp sandbox parent", {"*"}, {});
  parent_index_ = 0;
  add_token("Read-only dashboard", {"analytics:read", "websites:read"}, {ids[0]});
  add_token("CI deploys", {"websites:read", "websites:write", "settings:write"}, {});
  add_token("Someone else's token", {"analytics:read"}, {}, std::string(kOther));
}

std::vector<std::string> Account::seeded_website_ids() {
  return {"65a1b2c3d4e5f60718293a01", "65a1b2c3d4e5f60718293a02", "65a1b2c3d4e5f60718293a03"};
}

void Account::set_parent_permissions(std::vector<std::string> permissions) {
  if (parent_index_ < tokens_.size())
    tokens_[parent_index_].permissions = std::move(permissions);
}

void Account::set_parent_websites(std::vector<std::string> website_ids) {
  if (parent_index_ < tokens_.size())
    tokens_[parent_index_].website_ids = std::move(website_ids);
}

const Secret &Account::parent_token() const {
  // Once the parent has been revoked there is no key to hand out; an empty one fails auth as a
  // revoked key would.
  static const Secret kRevoked;
  return parent_index_ < tokens_.size() ? tokens_[parent_index_].key : kRevoked;
}

std::string Account::add_token(std::optional<std::string> name,
                               std::vector<std::string> permissions,
                               std::vector<std::string> website_ids, std::string owner) {
  Token token;
  token.id = random_token_id();
  token.name = std::move(name);
  token.key = random_key();
  token.owner = std::move(owner);
  token.permissions = std::move(permissions);
  token.website_ids = std::move(website_ids);
  token.created_at = now_iso8601();
  tokens_.push_back(std::move(token));
  return tokens_.back().id;
}

HttpResponse Account::handle(std::string_view method, std::string_view path,
                             std::string_view authorization, std::string_view body) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer))
    return error(401, "Missing or invalid API token");
  const std::string_view presented = authorization.substr(kBearer.size());
  if (presented.starts_with("df_"))
    return error(403, "Website API keys (df_) cannot access account-level resources");

  // Every live key is compared, so the time taken does not tell which one (if any) matched.
  std::size_t caller_index = tokens_.size();
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (constant_time_equal(presented, tokens_[i].key.reveal()) && caller_index == tokens_.size())
      caller_index = i;
  }
  if (presented.empty() || caller_index == tokens_.size())
    return error(401, "Missing or invalid API token");
  tokens_[caller_index].last_used_at = now_iso8601();
  const Token &caller = tokens_[caller_index];

  if (path == kWebsitesPath) {
    if (method != "GET")
      return error(405, "Method not allowed");
    // DataFast: 403 for a missing permission (datafast-api.md 1.6).
    if (!has_permission(caller, "websites:read"))
      return error(403, "Missing permission: websites:read");
    json data = json::array();
    for (const auto &website : websites_) {
      // A token limited to some websites sees only those.
      if (!caller.website_ids.empty() && !contains(caller.website_ids, website.id))
        continue;
      data.push_back(json{{"_id", website.id},
                          {"domain", website.domain},
                          {"name", optional_string(website.name)},
                          {"trackingId", website.tracking_id},
                          {"timezone", website.timezone},
                          {"currency", website.currency},
                          {"role", website.role}});
    }
    return success(std::move(data));
  }

  std::optional<std::string_view> token_id;
  if (path != kTokensPath) {
    if (!path.starts_with(kTokensPath) || path.size() <= kTokensPath.size() + 1 ||
        path[kTokensPath.size()] != '/')
      return error(404, "Not found");
    token_id = path.substr(kTokensPath.size() + 1);
    if (token_id->find('/') != std::string_view::npos)
      return error(404, "Not found");
  }

  try {
    if (!token_id && method == "GET") {
      if (!has_permission(caller, "api-keys:read"))
        return error(403, "Missing permission: api-keys:read");
      json data = json::array();
      for (const auto &token : tokens_) {
        if (token.owner == caller.owner)
          data.push_back(public_view(token));
      }
      return success(std::move(data));
    }

    if (!token_id && method == "POST") {
      if (!has_permission(caller, "api-keys:write"))
        return error(403, "Missing permission: api-keys:write");
      const std::optional<json> parsed = parse_body(body);
      if (!parsed)
        return error(400, "Invalid JSON body");
      const json &request = *parsed;
      if (!request.is_object())
        return error(400, "Body must be an object");

      std::optional<std::string> name;
      if (auto it = request.find("name"); it != request.end()) {
        if (it->is_string())
          name = it->get<std::string>();
        else if (!it->is_null())
          return error(400, "name must be a string or null");
      }

      bool ok = true;
      std::vector<std::string> permissions =
          string_array(request, "permissions", ok).value_or(std::vector<std::string>{"*"});
      if (!ok)
        return error(400, "permissions must be an array of strings");
      if (permissions.empty())
        return error(400, "permissions must not be empty");
      for (const auto &permission : permissions) {
        if (std::find(kPermissionVocabulary.begin(), kPermissionVocabulary.end(), permission) ==
            kPermissionVocabulary.end())
          return error(400, "Invalid permission: " + permission);
      }
      for (const auto &permission : permissions) {
        if (!has_permission(caller, permission))
          return error(403, "Cannot grant permissions beyond your own token: " + permission);
      }

      std::vector<std::string> website_ids =
          string_array(request, "websiteIds", ok).value_or(std::vector<std::string>{});
      if (!ok)
        return error(400, "websiteIds must be an array of strings");
      if (website_ids.empty() && !caller.website_ids.empty())
        return error(403, "Cannot grant access to all websites beyond your own token scope");
      for (const auto &id : website_ids) {
        if (std::none_of(websites_.begin(), websites_.end(),
                         [&](const Website &w) { return w.id == id; }))
          return error(400, "Unknown website: " + id);
        if (!caller.website_ids.empty() && !contains(caller.website_ids, id))
          return error(403,
                       "Cannot grant access to website " + id + " beyond your own token scope");
      }

      const auto owned = std::count_if(tokens_.begin(), tokens_.end(),
                                       [&](const Token &t) { return t.owner == caller.owner; });
      if (static_cast<std::size_t>(owned) >= kMaxTokens)
        return error(400, "Maximum 20 tokens per account");

      // add_token may reallocate tokens_, so `caller` must not be used past this point.
      const std::string owner = caller.owner;
      add_token(std::move(name), std::move(permissions), std::move(website_ids), owner);
      const Token &created = tokens_.back();
      json view = public_view(created);
      view.erase("lastUsedAt");
      view["key"] = created.key.reveal();
      return success(json::array({std::move(view)}));
    }

    if (token_id && method == "DELETE") {
      if (!has_permission(caller, "api-keys:write"))
        return error(403, "Missing permission: api-keys:write");
      auto it = std::find_if(tokens_.begin(), tokens_.end(), [&](const Token &t) {
        return t.id == *token_id && t.owner == caller.owner;
      });
      if (it == tokens_.end())
        return error(404, "Token not found or not owned by the caller");
      const auto removed = static_cast<std::size_t>(it - tokens_.begin());
      tokens_.erase(it);
      if (removed == parent_index_)
        parent_index_ = kNoParent;
      else if (removed < parent_index_ && parent_index_ != kNoParent)
        --parent_index_;
      return success(json::array({{{"message", "Access token deleted successfully"}}}));
    }
  } catch (const json::exception &) {
    return error(400, "Invalid JSON body");
  }

  return error(405, "Method not allowed");
}

} // namespace dfmcp::sandbox
