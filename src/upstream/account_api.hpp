// The DataFast Account API's token endpoints as typed calls. The tools depend on this interface;
// make_http_account_api() is the real one, and tests may substitute a recording fake.
#pragma once

#include "model/access_token.hpp"
#include "policy/ceiling.hpp"
#include "upstream/errors.hpp"
#include "upstream/http_client.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"

#include <memory>
#include <vector>

namespace dfmcp::upstream {

class AccountApi {
public:
  virtual ~AccountApi() = default;
  virtual Expected<std::vector<model::AccessToken>, UpstreamError> list(CancelToken *cancel) = 0;
  virtual Expected<model::CreatedToken, UpstreamError> create(const policy::CreatePlan &plan,
                                                              CancelToken *cancel) = 0;
  virtual Expected<Ok, UpstreamError> revoke(const std::string &token_id, CancelToken *cancel) = 0;
};

std::unique_ptr<AccountApi> make_http_account_api(ClientConfig config);

// Parsers of DataFast's success envelopes {"status":"success","data":[...]}, exposed for tests.
Expected<std::vector<model::AccessToken>, UpstreamError> parse_list(const std::string &body);
Expected<model::CreatedToken, UpstreamError> parse_created(const std::string &body);

} // namespace dfmcp::upstream
