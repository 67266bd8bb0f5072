#include "mcp/session.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/modern.hpp"
#include "safety/confirm.hpp"
#include "secret.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace dfmcp::mcp {

namespace {

constexpr std::array<std::string_view, 8> kLogLevels = {"debug",    "info",  "notice",
                                                        "warning",  "error", "critical",
                                                        "alert",    "emergency"};

int level_rank(std::string_view level) {
  auto it = std::find(kLogLevels.begin(), kLogLevels.end(), level);
  return it == kLogLevels.end() ? -1 : static_cast<int>(it - kLogLevels.begin());
}

bool is_known_method(std::string_view method) {
  return method == "initialize" || method == "ping" || method == "tools/list" ||
         method == "tools/call" || method == "logging/setLevel";
}

} // namespace

Session::Session(const Server &server, std::string client, const policy::Ceiling &ceiling,
                 Notify notify, std::string transport)
    : server_(server), client_(std::move(client)), ceiling_(ceiling), notify_(std::move(notify)),
      transport_(std::move(transport)) {}

Expected<json, std::string> Session::ask_client(const std::string &method, const json &params,
                                                CancelToken *cancel, std::chrono::milliseconds timeout,
                                                const Notify &outbox) {
  const Notify &send = outbox ? outbox : notify_;
  auto pending = std::make_shared<Pending>();
  std::string id;
  {
    std::lock_guard lock(mutex_);
    id = "dfmcp-" + std::to_string(++next_ask_);
    asked_[id_key(id)] = pending;
  }
  auto forget = [&] {
    std::lock_guard lock(mutex_);
    asked_.erase(id_key(id));
  };
  json request{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  if (!send || !send(request)) {
    forget();
    return unexpected(std::string("this transport cannot send it now (an HTTP client must accept "
                                  "text/event-stream)"));
  }
  // A cancellation of the tool call, or the client leaving, ends the wait: nothing goes ahead
  // on an answer that arrives afterwards.
  if (cancel && !cancel->set_hook([pending](bool) {
        std::lock_guard lock(pending->mutex);
        pending->abandoned = true;
        pending->cv.notify_all();
      })) {
    forget();
    return unexpected(std::string("the call was cancelled"));
  }
  std::unique_lock lock(pending->mutex);
  bool answered = pending->cv.wait_for(lock, timeout, [&] { return pending->response || pending->abandoned; });
  lock.unlock();
  if (cancel)
    cancel->clear_hook();
  forget();
  if (!answered)
    return unexpected("no answer within " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
  if (pending->abandoned || !pending->response)
    return unexpected(std::string("the call was cancelled"));
  const json &r = *pending->response;
  if (r.contains("error"))
    return unexpected("the client answered with an error: " +
                      (r["error"].is_object() ? r["error"].value("message", std::string("(no message)")) : std::string("?")));
  if (!r.contains("result"))
    return unexpected(std::string("the client's answer has no result"));
  return r["result"];
}

void Session::response(const json &message) {
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(mutex_);
    auto it = asked_.find(id_key(message.value("id", json(nullptr))));
    if (it == asked_.end())
      return; // late (after a cancel or timeout) or unknown: ignored
    pending = it->second;
  }
  std::lock_guard lock(pending->mutex);
  if (!pending->abandoned)
    pending->response = message;
  pending->cv.notify_all();
}

std::size_t Session::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_.size();
}

void Session::cancel_all(bool hard) {
  std::vector<std::shared_ptr<CancelToken>> tokens;
  {
    std::lock_guard lock(mutex_);
    for (auto &[id, token] : in_flight_)
      tokens.push_back(token);
  }
  for (auto &token : tokens)
    hard ? token->abort() : token->cancel();
}

void Session::cancel(const json &id) {
  std::shared_ptr<CancelToken> token;
  {
    std::lock_guard lock(mutex_);
    if (auto it = in_flight_.find(id_key(id)); it != in_flight_.end())
      token = it->second;
  }
  if (token) {
    spdlog::debug("{}: cancelling request {}", client_, id_key(id));
    token->cancel(); // never under mutex_: workers finishing other calls need it
  }
}

Step Session::handle_line(std::string_view line) {
  if (line.size() > kMaxLineBytes)
    return {make_error(nullptr, code::kInvalidRequest,
                       "invalid request: message of " + std::to_string(line.size()) +
                           " bytes exceeds the limit of " + std::to_string(kMaxLineBytes)),
            std::nullopt};
  auto parsed = parse_json(line);
  if (!parsed)
    return {make_error(nullptr, code::kParseError, "parse error: " + parsed.error()), std::nullopt};
  return handle(*parsed);
}

Step Session::handle(const json &message, const Notify &outbox) {
  auto in = classify(message);
  if (!in) {
    if (in.error().is_null())
      return {};
    return {in.error(), std::nullopt};
  }
  switch (in->kind) {
  case Incoming::Kind::Response:
    response(message); // an answer to a request this server sent (an elicitation)
    return {};
  case Incoming::Kind::Notification:
    notification(in->method, in->params);
    return {};
  case Incoming::Kind::Request:
    break;
  }
  try {
    if (modern::claims_modern(message))
      return modern_request(in->id, in->method, in->params, outbox);
    return request(in->id, in->method, in->params, outbox);
  } catch (const std::exception &e) {
    spdlog::error("internal error handling {}: {}", in->method, scrub_secrets(e.what()));
    return {make_error(in->id, code::kInternalError, "internal error"), std::nullopt};
  }
}

Step Session::request(const json &id, const std::string &method, const json &params,
                      const Notify &outbox) {
  if (!is_known_method(method))
    return {make_error(id, code::kMethodNotFound,
                       "method not found: '" + method + "' (this server offers tools only)"),
            std::nullopt};
  if (method == "ping")
    return {make_result(id, json::object()), std::nullopt};
  if (method == "initialize")
    return initialize(id, params);
  if (state_ == State::New)
    return {make_error(id, code::kInvalidRequest,
                       "invalid request: the session is not initialized; send initialize first"),
            std::nullopt};
  if (method == "tools/list") {
    if (params.is_object() && params.contains("cursor")) {
      const json &cursor = params["cursor"];
      return {make_error(id, code::kInvalidParams,
                         cursor.is_string() ? "invalid params: unknown cursor (this server lists "
                                              "every tool on one page)"
                                            : "invalid params: cursor must be a string"),
              std::nullopt};
    }
    Step s;
    s.reply_text = make_result_text(id, server_.tools_list_text());
    return s;
  }
  if (method == "tools/call")
    return call_tool(id, params, false, log_threshold_.load(), client_capabilities_, outbox);
  return set_level(id, params); // logging/setLevel
}

Step Session::modern_request(const json &id, const std::string &method, const json &params,
                             const Notify &outbox) {
  auto env = modern::read_envelope(id, params);
  if (!env)
    return {env.error(), std::nullopt, 400};
  if (env->version != modern::kVersion)
    return {modern::unsupported_version(id, env->version), std::nullopt, 400};
  if (method == "server/discover")
    return {make_result(id, server_.discover_result()), std::nullopt};
  if (method == "tools/list") {
    if (params.contains("cursor"))
      return {make_error(id, code::kInvalidParams,
                         "invalid params: unknown cursor (this server lists every tool on one page)"),
              std::nullopt};
    Step s;
    s.reply_text = make_result_text(id, server_.modern_tools_list_text());
    return s;
  }
  if (method == "tools/call")
    return call_tool(id, params, true, env->log_level ? level_rank(*env->log_level) : -1,
                     params["_meta"].value(modern::kClientCapabilitiesKey, json::object()), outbox);
  // initialize, ping and logging/setLevel do not exist in 2026-07-28; nor does anything else.
  return {make_error(id, code::kMethodNotFound,
                     "method not found: '" + method + "' (protocol " + std::string(modern::kVersion) +
                         " offers server/discover, tools/list and tools/call here)"),
          std::nullopt, 404};
}

Step Session::initialize(const json &id, const json &params) {
  if (state_ != State::New)
    return {make_error(id, code::kInvalidRequest, "invalid request: already initialized"),
            std::nullopt};
  if (!params.is_object() || !params.contains("protocolVersion") ||
      !params["protocolVersion"].is_string())
    return {make_error(id, code::kInvalidParams,
                       "invalid params: initialize needs protocolVersion (a string)"),
            std::nullopt};
  for (const char *key : {"capabilities", "clientInfo"})
    if (params.contains(key) && !params[key].is_object())
      return {make_error(id, code::kInvalidParams,
                         std::string("invalid params: ") + key + " must be an object"),
              std::nullopt};
  std::string requested = params["protocolVersion"].get<std::string>();
  if (params.contains("capabilities"))
    client_capabilities_ = params["capabilities"];
  version_ = is_supported_version(requested) ? requested : std::string(kProtocolVersions.front());
  std::string client_name = "unknown client";
  if (params.contains("clientInfo")) {
    const json &info = params["clientInfo"];
    if (info.contains("name") && info["name"].is_string())
      client_name = info["name"].get<std::string>();
    if (info.contains("version") && info["version"].is_string())
      client_name += " " + info["version"].get<std::string>();
  }
  state_ = State::Initialized;
  spdlog::info("{}: initialized by {} (protocol {}{})", client_, scrub_secrets(client_name),
               version_, requested == version_ ? "" : ", asked for " + scrub_secrets(requested));
  return {make_result(id, server_.initialize_result(version_)), std::nullopt};
}

Step Session::call_tool(const json &id, const json &params, bool modern, int log_threshold,
                        json client_capabilities, Notify outbox) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string())
    return {make_error(id, code::kInvalidParams, "invalid params: tools/call needs name (a string)"),
            std::nullopt};
  std::string name = params["name"].get<std::string>();
  const tools::Tool *tool = server_.tools().find(name);
  if (tool == nullptr)
    return {make_error(id, code::kInvalidParams,
                       "invalid params: unknown tool '" + name + "'; the tools are " +
                           policy::join(server_.tools().names(), ", ")),
            std::nullopt};
  json arguments = json::object();
  if (params.contains("arguments")) {
    if (!params["arguments"].is_object())
      return {make_error(id, code::kInvalidParams, "invalid params: arguments must be an object"),
              std::nullopt};
    arguments = params["arguments"];
  }

  auto notify = [this, log_threshold, outbox](std::string_view level, const json &data) {
    log_to_client(level, data, log_threshold, outbox);
  };
  // The reply for a tool result, serialized: a CallToolResult (stamped for 2026-07-28), an
  // input_required result, or a JSON-RPC error the tool asked for. Plain results are written
  // straight from the text the tool made (no JSON tree for the reply, no second serialization).
  auto reply_for = [modern](const json &reply_id, const tools::ToolResult &r) {
    JobReply out;
    if (auto text = Server::call_result_text(r, modern)) {
      out.text = make_result_text(reply_id, *text);
      return out;
    }
    if (r.protocol_error) {
      out.http_status = r.protocol_error->http_status;
      out.text = dump_json(make_error(reply_id, r.protocol_error->code, r.protocol_error->message,
                                      r.protocol_error->data.is_null() ? std::nullopt
                                                                       : std::optional<json>(r.protocol_error->data)));
      return out;
    }
    json result = r.to_json();
    if (modern)
      Server::stamp_modern(result);
    out.text = dump_json(make_result(reply_id, std::move(result)));
    return out;
  };
  // Legacy clients can be asked (elicitation/create) when they declared form elicitation and
  // negotiated 2025-06-18 or later; 2025-06-18 knows no "mode".
  bool can_elicit = !modern && version_ >= "2025-06-18" && safety::allows_form_elicitation(client_capabilities);
  bool with_mode = version_ >= "2025-11-25";
  json input_responses;
  std::string request_state;
  if (modern) {
    input_responses = params.value("inputResponses", json(nullptr));
    if (params.contains("requestState") && params["requestState"].is_string())
      request_state = params["requestState"].get<std::string>();
  }
  auto make_context = [this, notify = std::move(notify), modern, client_capabilities = std::move(client_capabilities),
                       input_responses = std::move(input_responses), request_state = std::move(request_state),
                       can_elicit, with_mode, outbox](CancelToken *cancel) {
    tools::ToolContext ctx;
    ctx.ceiling = &ceiling_;
    ctx.cancel = cancel;
    ctx.client = client_;
    ctx.transport = transport_;
    ctx.notify = notify;
    ctx.modern = modern;
    ctx.client_capabilities = client_capabilities;
    if (modern) {
      ctx.input_responses = input_responses;
      ctx.request_state = request_state;
    } else if (can_elicit) {
      ctx.elicit = [this, cancel, with_mode, outbox](const json &request) {
        json p = request;
        if (!with_mode)
          p.erase("mode");
        return ask_client("elicitation/create", p, cancel, kAskTimeout, outbox);
      };
    }
    return ctx;
  };
  if (!tool->calls_upstream) {
    tools::ToolContext ctx = make_context(nullptr);
    tools::ToolResult r = tool->handler(arguments, ctx);
    Step step;
    JobReply reply = reply_for(id, r);
    step.reply_text = std::move(reply.text);
    step.http_status = reply.http_status;
    return step;
  }

  auto cancel = std::make_shared<CancelToken>();
  std::string key = id_key(id);
  {
    std::lock_guard lock(mutex_);
    if (in_flight_.count(key))
      return {make_error(id, code::kInvalidRequest,
                         "invalid request: id " + key + " is already used by a request in progress"),
              std::nullopt};
    if (in_flight_.size() >= kMaxInFlight)
      return {make_result(id, tools::ToolResult::failure(
                                  "Busy: " + std::to_string(kMaxInFlight) +
                                  " tool calls are already in progress; retry when some finish.")
                                  .to_json()),
              std::nullopt};
    in_flight_.emplace(key, cancel);
  }
  Job job;
  job.id = id;
  job.run = [this, tool, arguments = std::move(arguments), cancel, key = std::move(key), id,
             make_context = std::move(make_context), reply_for]() -> std::optional<JobReply> {
    tools::ToolContext ctx = make_context(cancel.get());
    JobReply reply;
    try {
      reply = reply_for(id, tool->handler(arguments, ctx));
    } catch (const std::exception &e) {
      spdlog::error("internal error in {}: {}", tool->name, scrub_secrets(e.what()));
      reply = {dump_json(make_error(id, code::kInternalError, "internal error")), 200};
    }
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
    if (cancel->cancelled()) {
      spdlog::info("{}: {} request {} was cancelled; no reply sent", client_, tool->name, key);
      return std::nullopt;
    }
    return reply;
  };
  return {std::nullopt, std::move(job)};
}

Step Session::set_level(const json &id, const json &params) {
  if (!params.is_object() || !params.contains("level") || !params["level"].is_string() ||
      level_rank(params["level"].get<std::string>()) < 0)
    return {make_error(id, code::kInvalidParams,
                       "invalid params: level must be one of debug, info, notice, warning, error, "
                       "critical, alert, emergency"),
            std::nullopt};
  log_threshold_ = level_rank(params["level"].get<std::string>());
  return {make_result(id, json::object()), std::nullopt};
}

void Session::notification(const std::string &method, const json &params) {
  if (method == "notifications/initialized") {
    if (state_ == State::Initialized)
      state_ = State::Ready;
    return;
  }
  if (method == "notifications/cancelled") {
    if (params.is_object() && params.contains("requestId"))
      cancel(params["requestId"]);
    return;
  }
  // Other notifications (progress, roots/list_changed, unknown ones) need nothing from us.
}

void Session::log_to_client(std::string_view level, const json &data, int threshold, const Notify &outbox) {
  const Notify &send = outbox ? outbox : notify_;
  if (threshold < 0 || level_rank(level) < threshold || !send)
    return;
  send(json{{"jsonrpc", "2.0"},
               {"method", "notifications/message"},
               {"params", {{"level", level}, {"logger", "datafast-mcp"}, {"data", data}}}});
}

} // namespace dfmcp::mcp
