// Websites by name: the parent token's website list (GET /websites, read when first needed and
// trusted for upstream.scopeTtlMs), domains beside ids in what the model and the operator read,
// domain -> id resolution (create_access_token's `websites`, ceilings written with domains) and
// the list_websites tool. A failed read never blocks a tool that does not need the list.
#pragma once

#include "model/website.hpp"
#include "policy/ceiling.hpp"
#include "tools/registry.hpp"
#include "upstream/account_api.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dfmcp::tools {

// The websites the parent token can access, as last read. Thread-safe.
class WebsiteDirectory {
public:
  using Result = Expected<std::vector<model::Website>, upstream::UpstreamError>;

  WebsiteDirectory(upstream::AccountApi &api, std::chrono::milliseconds ttl)
      : api_(api), ttl_(ttl) {}

  // The list, read from DataFast when it was never read or is older than the TTL. A refusal
  // (403: no websites:read) is remembered for the TTL too, so that a parent without the
  // permission is not asked again on every call.
  Result get(CancelToken *cancel, upstream::Deadline deadline);
  // What is known now, with no I/O (empty when the list was never read).
  policy::WebsiteNames names() const;
  // For messages: reads the list when stale (see get()); on failure, what is known (maybe nothing).
  // After a failed read it does not try again for a while (kRetryAfterFailure, at most the TTL):
  // a DataFast that does not answer must not slow down every call of a tool that only wants names.
  policy::WebsiteNames names_fresh(CancelToken *cancel, upstream::Deadline deadline);
  static constexpr std::chrono::seconds kRetryAfterFailure{30};
  // The configured deadline of one upstream request (upstream.timeoutMs).
  std::chrono::milliseconds timeout() const { return api_.timeout(); }
  // Changes whenever a read brings a new list (answers built from the names depend on it).
  std::uint64_t generation() const;

private:
  policy::WebsiteNames names_locked() const; // mutex_ held
  std::optional<Result> trusted() const;      // the list (or refusal) still trusted, if any

  upstream::AccountApi &api_;
  std::chrono::milliseconds ttl_;
  std::mutex read_mutex_; // held while a read is under way
  mutable std::mutex mutex_;
  std::optional<std::vector<model::Website>> websites_;
  std::optional<upstream::UpstreamError> refused_; // the last read's 403, while it is trusted
  std::chrono::steady_clock::time_point read_at_{};
  std::optional<std::chrono::steady_clock::time_point> failed_at_; // the last failed read
  std::uint64_t generation_ = 0;
  bool warned_ = false;
};

// One domain that did not resolve: its index in the list given, and why.
struct DomainProblem {
  std::size_t index;
  std::string message; // "'x.example' is not ..." (no field name)
};

// Resolves domains to website ids: exact, case-insensitive matches against `websites`. A domain
// with no match or with several is a problem; `known` (the websites that may be named in the
// message, e.g. those within a ceiling) is listed to help. Order is kept.
Expected<std::vector<std::string>, std::vector<DomainProblem>>
resolve_domains(const std::vector<std::string> &domains,
                const std::vector<model::Website> &websites,
                const std::vector<model::Website> &known);

// The message for a website list that could not be read. A 403 means the parent token lacks
// websites:read: websites cannot be listed or named by domain, and the other tools still work.
std::string websites_unreadable(const upstream::UpstreamError &error, std::string_view operation);

// What list_websites needs from the rest of the server.
struct WebsiteToolDeps {
  WebsiteDirectory *directory = nullptr;
  // The caller's effective ceiling: its configured one within the parent token's known scope.
  std::function<policy::Ceiling(const policy::Ceiling &configured)> effective;
  // Audits one call (tool, arguments, decision, reason).
  std::function<void(const ToolContext &, const json &args, const std::string &decision,
                     const std::string &reason)>
      record;
};

// Registers list_websites.
void register_website_tools(ToolRegistry &registry, WebsiteToolDeps deps);

} // namespace dfmcp::tools
