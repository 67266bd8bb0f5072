// The ceiling: the most any token minted or revoked through this server may hold, and the rules that
// judge a create or revoke request against it. Pure: no JSON, no I/O. Every decision is made here,
// before anything is sent upstream.
#pragma once

#include "policy/permission.hpp"
#include "util/expected.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::policy {

enum class RefusalKindTag { Ceiling, Parent };

// Website domains by id, to name websites in messages beside their ids. Missing ids (or no map at
// all) are named by id alone.
using WebsiteNames = std::map<std::string, std::string, std::less<>>;

// "'shop.example' (65a...)" when the domain is known, else "'65a...'".
std::string website_label(std::string_view id, const WebsiteNames *names);

// Websites: all of the account's, or a fixed non-empty list of ids.
struct WebsiteScope {
  bool all = false;
  std::vector<std::string> ids; // empty when all

  static WebsiteScope everything() { return {true, {}}; }
  bool covers(std::string_view id) const;
  // "65a..., 65b...", or "all websites (*)"; with names, "shop.example (65a...), 65b...".
  std::string describe(const WebsiteNames *names = nullptr) const;
};

struct Ceiling {
  PermissionSet permissions;
  WebsiteScope websites;
};

// Which limit judged a request, for the messages: the configured ceiling, or the scope of the
// parent token the server runs on (DataFast would refuse more than that anyway).
struct Bound {
  RefusalKindTag kind;
  std::string name; // "the ceiling", "this server's own token (dft_ab1...xyz9)"
  static Bound ceiling() { return {RefusalKindTag::Ceiling, "the ceiling"}; }
  static Bound parent(std::string display_key) {
    return {RefusalKindTag::Parent, "this server's own token (" + display_key + ")"};
  }
};

// True for a DataFast object id as this server accepts it: 1-64 of [A-Za-z0-9_-].
bool is_valid_id(std::string_view id);

enum class RefusalKind {
  InvalidArgument, // the value is malformed whatever the ceiling (unknown permission, bad name, ...)
  BeyondCeiling,   // well-formed, but more than the ceiling allows
  BeyondParent,    // within the configured ceiling, but more than the server's own token holds
  NotAllowed,      // a rule other than the ceiling (the server's own token, ...)
  NotFound,        // the target does not exist
};

struct Refusal {
  RefusalKind kind;
  std::string field;   // JSON pointer of the offending argument: "/permissions/1"; "" for the whole call
  std::string message; // what was refused and what is allowed
  std::string to_string() const { return field.empty() ? message : field + ": " + message; }
};
using Refusals = std::vector<Refusal>;

// A create_access_token request as the agent sent it (before any defaulting).
struct CreateRequest {
  std::string name;
  std::vector<std::string> permissions;
  std::optional<std::vector<std::string>> website_ids;
};

// What will be sent to DataFast: permissions always explicit; website_ids empty means all websites.
struct CreatePlan {
  std::string name;
  std::vector<std::string> permissions;
  std::vector<std::string> website_ids;
  bool websites_defaulted = false; // website_ids came from the ceiling because the agent omitted them
};

// Judges a create request. On success, the exact body to send; otherwise every problem found.
// `names` (optional) puts domains beside the website ids the messages name.
Expected<CreatePlan, Refusals> check_create(const Ceiling &ceiling, const CreateRequest &request,
                                            const Bound &bound = Bound::ceiling(),
                                            const WebsiteNames *names = nullptr);

// An existing token as DataFast reports it (permissions may hold strings unknown to this server).
struct TokenScope {
  std::vector<std::string> permissions;
  std::vector<std::string> website_ids; // empty means all websites
};

// What of `token` lies beyond the ceiling, one phrase per item; empty when it lies within.
std::vector<std::string> exceeds(const Ceiling &ceiling, const TokenScope &token,
                                 const WebsiteNames *names = nullptr);

// What of `inner` lies beyond `outer` (e.g. a client's ceiling against the server's); empty when
// inner lies within.
std::vector<std::string> ceiling_beyond(const Ceiling &inner, const Ceiling &outer,
                                        const WebsiteNames *names = nullptr);

// Judges a revoke of an existing token (found upstream by the caller).
Expected<Ok, Refusals> check_revoke(const Ceiling &ceiling, const TokenScope &token,
                                    std::string_view token_id, bool is_server_token,
                                    const Bound &bound = Bound::ceiling(),
                                    const WebsiteNames *names = nullptr);

// The part of `configured` that `parent` (the server's own token, as DataFast lists it) also
// holds: what DataFast would let this server mint. "*" on either side defers to the other.
Ceiling intersect(const Ceiling &configured, const TokenScope &parent);

// Checks a ceiling as configured: "*" alone, no duplicates, a non-empty website list.
// Returns the problems as (field, message) refusals; empty when the ceiling is sound.
struct CeilingSpec {
  std::vector<std::string> permissions;
  std::optional<std::vector<std::string>> website_ids; // nullopt means "*"
};
Expected<Ceiling, Refusals> make_ceiling(const CeilingSpec &spec);

} // namespace dfmcp::policy
