#include "upstream/account_api.hpp"

#include "util/json_input.hpp"

namespace dfmcp::upstream {

namespace {

UpstreamError bad_response(std::string detail) {
  return UpstreamError{ErrorKind::BadResponse, 200, sanitize_detail(detail), "", true};
}

// The `data` array of a success envelope.
Expected<json, UpstreamError> data_array(const std::string &body) {
  auto parsed = parse_json(body);
  if (!parsed)
    return unexpected(bad_response("not JSON: " + parsed.error()));
  json &j = *parsed;
  if (!j.is_object())
    return unexpected(bad_response("expected an object, got " + json_type_name(j)));
  auto status = j.find("status");
  if (status != j.end() && status->is_string() && *status != "success")
    return unexpected(bad_response("status is '" + status->get<std::string>() + "'"));
  auto data = j.find("data");
  if (data == j.end() || !data->is_array())
    return unexpected(bad_response("expected a data list"));
  return std::move(*data);
}

class HttpAccountApi final : public AccountApi {
public:
  explicit HttpAccountApi(ClientConfig config) : client_(std::move(config)) {}

  std::chrono::milliseconds timeout() const override { return client_.config().timeout; }

  Expected<std::vector<model::AccessToken>, UpstreamError> list(CancelToken *cancel, Deadline deadline) override {
    auto reply = client_.request(Method::Get, "/access-tokens", "", cancel, deadline);
    if (!reply)
      return unexpected(reply.error());
    return parse_list(reply->body);
  }

  Expected<model::CreatedToken, UpstreamError> create(const policy::CreatePlan &plan, CancelToken *cancel,
                                                      Deadline deadline) override {
    // `permissions` is always sent: DataFast reads an omitted list as full access.
    json body{{"name", plan.name},
              {"permissions", plan.permissions},
              {"websiteIds", plan.website_ids}};
    auto reply = client_.request(Method::Post, "/access-tokens", dump_json(body), cancel, deadline);
    if (!reply)
      return unexpected(reply.error());
    return parse_created(reply->body);
  }

  Expected<Ok, UpstreamError> revoke(const std::string &token_id, CancelToken *cancel, Deadline deadline) override {
    if (!policy::is_valid_id(token_id)) // never let an id reshape the request path
      return unexpected(UpstreamError{ErrorKind::BadRequest, 0, "invalid token id", "", false});
    auto reply = client_.request(Method::Delete, "/access-tokens/" + token_id, "", cancel, deadline);
    // A retried DELETE that finds nothing: the first attempt did revoke it, and only its answer
    // was lost.
    if (!reply && reply.error().kind == ErrorKind::NotFound && reply.error().attempts > 1)
      return Ok{};
    if (!reply)
      return unexpected(reply.error());
    return Ok{};
  }

  Expected<std::vector<model::Website>, UpstreamError> list_websites(CancelToken *cancel,
                                                                     Deadline deadline) override {
    auto reply = client_.request(Method::Get, "/websites", "", cancel, deadline);
    if (!reply)
      return unexpected(reply.error());
    return parse_websites(reply->body);
  }

private:
  HttpClient client_;
};

} // namespace

Expected<std::vector<model::AccessToken>, UpstreamError> parse_list(const std::string &body) {
  auto data = data_array(body);
  if (!data)
    return unexpected(data.error());
  std::vector<model::AccessToken> out;
  for (std::size_t i = 0; i < data->size(); ++i) {
    auto token = model::token_from_json((*data)[i]);
    if (!token)
      return unexpected(bad_response("data[" + std::to_string(i) + "]: " + token.error()));
    out.push_back(std::move(*token));
  }
  return out;
}

Expected<std::vector<model::Website>, UpstreamError> parse_websites(const std::string &body) {
  auto data = data_array(body);
  if (!data)
    return unexpected(data.error());
  std::vector<model::Website> out;
  for (std::size_t i = 0; i < data->size(); ++i) {
    auto website = model::website_from_json((*data)[i]);
    if (!website)
      return unexpected(bad_response("data[" + std::to_string(i) + "]: " + website.error()));
    out.push_back(std::move(*website));
  }
  return out;
}

Expected<model::CreatedToken, UpstreamError> parse_created(const std::string &body) {
  auto data = data_array(body);
  if (!data)
    return unexpected(data.error());
  if (data->empty())
    return unexpected(bad_response("the data list is empty"));
  const json &item = data->front();
  auto token = model::token_from_json(item);
  if (!token)
    return unexpected(bad_response("data[0]: " + token.error()));
  auto key = item.find("key");
  if (key == item.end() || !key->is_string() || key->get<std::string>().empty())
    return unexpected(bad_response("the new token's key is missing"));
  return model::CreatedToken{std::move(*token), Secret(key->get<std::string>())};
}

} // namespace dfmcp::upstream

namespace dfmcp::upstream {
std::unique_ptr<AccountApi> make_http_account_api(ClientConfig config) {
  return std::make_unique<HttpAccountApi>(std::move(config));
}
} // namespace dfmcp::upstream
