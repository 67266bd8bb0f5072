// confirm: "never" | "writes" | "always". Which grants need a human's yes, the elicitation form
// that asks for it, and (for protocol 2026-07-28, where the server cannot send requests) the
// sealed requestState that carries the pending question across the client's retry.
#pragma once

#include "policy/ceiling.hpp"
#include "util/expected.hpp"
#include "util/json_input.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace dfmcp::safety {

enum class ConfirmMode { Never, Writes, Always };

// Why this create needs confirmation ("grants funnels:write", "grants all websites"), or "" when
// it does not.
std::string create_needs_confirmation(ConfirmMode mode, const policy::CreatePlan &plan);

// The elicitation/create params asking to confirm (form mode; `with_mode` false for 2025-06-18).
json confirmation_request(const std::string &question, bool with_mode);

// True when an ElicitResult is an explicit yes: action "accept" with content.confirm == true.
bool confirmed(const json &elicit_result);

// Whether a client's declared capabilities allow form elicitation.
bool allows_form_elicitation(const json &client_capabilities);

// requestState for the 2026-07-28 retry: HMAC-sealed, bound to the client, the tool and its
// arguments, with an expiry; each one is accepted once.
class StateSealer {
public:
  StateSealer() = default; // a random key for this process, made when first needed
  std::string seal(const std::string &client, const std::string &tool, const json &arguments,
                   std::chrono::seconds ttl = std::chrono::seconds(600));
  enum class Check { Valid, Invalid, Expired, Replayed };
  Check open(const std::string &state, const std::string &client, const std::string &tool, const json &arguments);

private:
  // The key is drawn on the first seal or open: most sessions never confirm anything, and the
  // first draw initialises OpenSSL's random generator (a few million instructions at start-up).
  const std::string &key();
  std::once_flag key_once_;
  std::string key_;
  std::mutex mutex_;
  std::set<std::string> used_; // nonces already accepted (pruned as they expire)
  std::map<std::string, long long> used_expiry_;
};

} // namespace dfmcp::safety
