// The DataFast Account API's token endpoints (and the website list) as typed calls. The tools depend on this interface;
// make_http_account_api() is the real one, and tests may substitute a recording fake.
#pragma once

#include "model/access_token.hpp"
#include "model/website.hpp"
#include "policy/ceiling.hpp"
#include "upstream/errors.hpp"
#include "upstream/http_client.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace dfmcp::upstream {

// A tool call's deadline: every upstream request it makes ends by then (at the latest by the
// client's own timeout). nullopt: only the client's timeout.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

class AccountApi {
public:
  virtual ~AccountApi() = default;
  virtual Expected<std::vector<model::AccessToken>, UpstreamError> list(CancelToken *cancel,
                                                                        Deadline deadline = std::nullopt) = 0;
  virtual Expected<model::CreatedToken, UpstreamError> create(const policy::CreatePlan &plan, CancelToken *cancel,
                                                              Deadline deadline = std::nullopt) = 0;
  virtual Expected<Ok, UpstreamError> revoke(const std::string &token_id, CancelToken *cancel,
                                             Deadline deadline = std::nullopt) = 0;
  // GET /websites: the websites the parent token can access (needs websites:read).
  virtual Expected<std::vector<model::Website>, UpstreamError> list_websites(CancelToken *cancel,
                                                                             Deadline deadline = std::nullopt) = 0;
  // The configured deadline of one request (upstream.timeoutMs).
  virtual std::chrono::milliseconds timeout() const = 0;
};

std::unique_ptr<AccountApi> make_http_account_api(ClientConfig config);

// Parsers of DataFast's success envelopes {"status":"success","data":[...]}, exposed for tests.
Expected<std::vector<model::AccessToken>, UpstreamError> parse_list(const std::string &body);
Expected<model::CreatedToken, UpstreamError> parse_created(const std::string &body);
Expected<std::vector<model::Website>, UpstreamError> parse_websites(const std::string &body);

} // namespace dfmcp::upstream
