#include "transport/http_mcp.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/modern.hpp"
#include "mcp/session.hpp"
#include "transport/http_guards.hpp"
#include "transport/http_sessions.hpp"
#include "transport/http_sse.hpp"
#include "util/random.hpp"

#include <spdlog/spdlog.h>

namespace dfmcp::transport {

namespace {

constexpr const char *kSessionHeader = "Mcp-Session-Id";
constexpr const char *kVersionHeader = "MCP-Protocol-Version";

} // namespace

struct McpHttpEndpoint::Impl {
  const mcp::Server &server;
  HttpEndpointOptions options;
  RequestGuards guards{options};
  SessionTable sessions{options.max_sessions, options.session_idle_timeout};

  Impl(const mcp::Server &s, HttpEndpointOptions o) : server(s), options(std::move(o)) {}

  // This request's outbox: SSE events on its own response, when the client accepts them.
  static SseOutbox outbox_for(const http::Request &req, http::ResponseStream &stream) {
    std::vector<http::Header> cors;
    if (const std::string *origin = req.header("Origin")) // allowed, or the request was refused
      cors = cors_headers(*origin);
    return SseOutbox(stream, accepts(req.header("Accept"), "text/event-stream"), std::move(cors));
  }

  // --- responses ----------------------------------------------------------------------------

  // Runs a step: the reply now, or its job here on this worker, cancelled if the client leaves.
  // Messages the session sends meanwhile stream out as SSE; then the reply ends the stream.
  static http::Response run_step(mcp::Session &session, mcp::Step step, CancelToken &disconnect,
                                 SseOutbox &box) {
    if (step.reply_text) // a fixed result: nothing streams before it
      return json_response(step.http_status, std::move(*step.reply_text));
    std::optional<std::string> reply;
    if (step.reply)
      reply = dump_json(*step.reply);
    int status = step.http_status;
    if (step.job) {
      json id = step.job->id;
      if (!disconnect.set_hook([&session, id](bool) { session.cancel(id); }))
        session.cancel(id); // the client left before the call started
      if (auto done = step.job->run()) {
        reply = std::move(done->text);
        status = done->http_status; // 400 for a missing client capability (2026-07-28)
      }
      disconnect.clear_hook();
    }
    if (box.begun()) { // the head went out already: the reply (if any) is the last event
      http::Response r;
      if (reply)
        r.body = sse_event_text(*reply);
      return r;
    }
    if (!reply) { // cancelled: no reply is sent for it
      http::Response r;
      r.status = 202;
      return r;
    }
    return json_response(status, std::move(*reply));
  }

  // --- the protocol -------------------------------------------------------------------------

  http::Response post(const http::Request &req, std::size_t who, CancelToken &disconnect,
                      http::ResponseStream &stream) {
    if (!is_json_content_type(req.header("Content-Type")))
      return refusal(415, "Unsupported Media Type: Content-Type must be application/json");
    if (!accepts(req.header("Accept"), "application/json"))
      return refusal(406, "Not Acceptable: the client must accept application/json");
    auto parsed = parse_json(req.body);
    if (!parsed)
      return json_response(400, mcp::make_error(nullptr, mcp::code::kParseError, "parse error: " + parsed.error()));
    const json &message = *parsed;
    if (!message.is_object()) {
      auto bad = mcp::classify(message);
      return json_response(400, bad ? json(nullptr) : bad.error());
    }
    if (mcp::modern::claims_modern(message))
      return post_modern(req, message, who, disconnect, stream);
    if (const std::string *v = req.header(kVersionHeader); v != nullptr && *v >= mcp::modern::kVersion) {
      // "method" may be any JSON value here: compare without converting it.
      if (auto m = message.find("method"); m != message.end() && *m == "initialize")
        return json_response(400, mcp::make_error(message.value("id", json(nullptr)), mcp::modern::kHeaderMismatch,
                                                  "Header mismatch: MCP-Protocol-Version " + *v +
                                                      " is not a version initialize negotiates"));
      return json_response(400, mcp::make_error(message.value("id", json(nullptr)), mcp::code::kInvalidParams,
                                                "invalid params: protocol " + *v + " needs params._meta"));
    }
    return post_legacy(req, message, who, disconnect, stream);
  }

  http::Response post_modern(const http::Request &req, const json &message, std::size_t who,
                             CancelToken &disconnect, http::ResponseStream &stream) {
    auto in = mcp::classify(message);
    if (!in)
      return json_response(400, in.error().is_null() ? mcp::make_error(nullptr, mcp::code::kInvalidRequest, "invalid request")
                                                     : in.error());
    if (in->kind != mcp::Incoming::Kind::Request) {
      http::Response r;
      r.status = 202; // modern HTTP defines no client notifications; accepting one is harmless
      return r;
    }
    const json &id = in->id;
    auto env = mcp::modern::read_envelope(id, in->params);
    if (!env)
      return json_response(400, env.error());
    auto mismatch = [&](std::string what) {
      return json_response(400, mcp::make_error(id, mcp::modern::kHeaderMismatch, "Header mismatch: " + what));
    };
    auto header = [&](const char *name) -> Expected<std::optional<std::string>, http::Response> {
      const std::string *raw = req.header(name);
      if (raw == nullptr)
        return std::optional<std::string>{};
      auto decoded = mcp::modern::decode_header_value(*raw);
      if (!decoded)
        return unexpected(mismatch(std::string(name) + " has an invalid =?base64?...?= value"));
      return std::optional<std::string>{*decoded};
    };
    auto version = header(kVersionHeader);
    auto method = header("Mcp-Method");
    if (!version)
      return version.error();
    if (!method)
      return method.error();
    if (*version && **version != env->version)
      return mismatch(std::string(kVersionHeader) + " header value '" + **version +
                      "' does not match the body value '" + env->version + "'");
    if (*method && **method != in->method)
      return mismatch("Mcp-Method header value '" + **method + "' does not match the body value '" +
                      in->method + "'");
    if (env->version != mcp::modern::kVersion)
      return json_response(400, mcp::modern::unsupported_version(id, env->version));
    if (!*version)
      return mismatch(std::string("the ") + kVersionHeader + " header is required");
    if (!*method)
      return mismatch("the Mcp-Method header is required");
    if (in->method == "tools/call" && in->params.contains("name") && in->params["name"].is_string()) {
      auto name = header("Mcp-Name");
      if (!name)
        return name.error();
      std::string body_name = in->params["name"].get<std::string>();
      if (!*name)
        return mismatch("the Mcp-Name header is required for tools/call");
      if (**name != body_name)
        return mismatch("Mcp-Name header value '" + **name + "' does not match the body value '" + body_name + "'");
    }
    const HttpIdentity &identity = options.identities[who];
    mcp::Session session(server, identity.name, *identity.ceiling, nullptr, "http");
    SseOutbox box = outbox_for(req, stream);
    mcp::Step step = session.handle(message, box.notifier());
    return run_step(session, std::move(step), disconnect, box);
  }

  http::Response post_legacy(const http::Request &req, const json &message, std::size_t who,
                             CancelToken &disconnect, http::ResponseStream &stream) {
    auto in = mcp::classify(message);
    if (!in)
      return json_response(400, in.error().is_null() ? mcp::make_error(nullptr, mcp::code::kInvalidRequest,
                                                                       "invalid request: malformed notification")
                                                     : in.error());
    const HttpIdentity &identity = options.identities[who];

    if (in->kind == mcp::Incoming::Kind::Request && in->method == "initialize") {
      // No standing stream (no GET): a session's messages go out on the request that causes them.
      auto session = std::make_shared<mcp::Session>(server, identity.name, *identity.ceiling, nullptr, "http");
      mcp::Step step = session->handle(message);
      if (!step.reply || !step.reply->contains("result"))
        return json_response(200, step.reply ? *step.reply : json(nullptr));
      std::string id = random_hex(32);
      if (!sessions.add(id, session, who)) {
        http::Response r = refusal(503, "Service Unavailable: every session of this client is busy; retry shortly");
        r.set("Retry-After", "1");
        return r;
      }
      spdlog::info("http: {} opened session {}... ({} open)", identity.name, id.substr(0, 8), sessions.size());
      http::Response r = json_response(200, *step.reply);
      r.set(kSessionHeader, id);
      return r;
    }

    const std::string *sid = req.header(kSessionHeader);
    if (sid == nullptr)
      return refusal(400, "Bad Request: the Mcp-Session-Id header is required (send initialize first)");
    if (const std::string *v = req.header(kVersionHeader); v != nullptr && !mcp::is_supported_version(*v))
      return refusal(400, "Bad Request: unsupported MCP-Protocol-Version '" + *v + "'");
    // Another client's session is as good as unknown: sessions never carry authority.
    auto lease = sessions.acquire(*sid, who);
    if (!lease)
      return refusal(404, "Not Found: session not found or ended; initialize a new one", -32001);
    SseOutbox box = outbox_for(req, stream);
    mcp::Step step;
    {
      std::lock_guard lock(*lease->handle_mutex);
      step = lease->session->handle(message, box.notifier());
    }
    http::Response r;
    if (in->kind != mcp::Incoming::Kind::Request) {
      r.status = 202; // notifications and responses: accepted, no body
    } else {
      r = run_step(*lease->session, std::move(step), disconnect, box);
    }
    sessions.release(*sid);
    return r;
  }

  http::Response end_session(const http::Request &req, std::size_t who) {
    const std::string *sid = req.header(kSessionHeader);
    if (sid == nullptr)
      return refusal(400, "Bad Request: the Mcp-Session-Id header is required");
    std::shared_ptr<mcp::Session> session = sessions.remove(*sid, who);
    if (!session)
      return refusal(404, "Not Found: session not found or ended", -32001);
    session->cancel_all(false);
    spdlog::info("http: {} ended session {}...", options.identities[who].name, sid->substr(0, 8));
    http::Response r;
    r.status = 200;
    return r;
  }

};

McpHttpEndpoint::McpHttpEndpoint(const mcp::Server &server, HttpEndpointOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}
McpHttpEndpoint::~McpHttpEndpoint() = default;

std::size_t McpHttpEndpoint::session_count() const { return impl_->sessions.size(); }

void McpHttpEndpoint::cancel_all(bool hard) {
  for (auto &s : impl_->sessions.all())
    s->cancel_all(hard);
}

http::Response McpHttpEndpoint::handle(const http::Request &req, CancelToken &disconnect,
                                       http::ResponseStream &stream) {
  Impl &m = *impl_;
  if (auto refused = m.guards.check_host(req))
    return *refused;
  const std::string *origin = req.header("Origin");
  if (origin != nullptr && !m.guards.origin_allowed(*origin)) {
    spdlog::warn("http: refused Origin '{}' from {}", *origin, req.remote);
    return refusal(403, "Forbidden: Origin '" + *origin + "' is not allowed");
  }
  auto with_cors = [&](http::Response r) {
    if (origin != nullptr) // allowed, or we would not be here; never a wildcard
      for (http::Header &h : cors_headers(*origin))
        r.set(std::move(h.name), std::move(h.value));
    return r;
  };
  if (req.method == "OPTIONS") { // CORS preflight; carries no credentials
    http::Response r;
    r.status = 204;
    r.set("Access-Control-Allow-Methods", "POST, GET, DELETE");
    r.set("Access-Control-Allow-Headers",
          "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name");
    r.set("Access-Control-Max-Age", "600");
    return with_cors(std::move(r));
  }
  if (req.path != m.options.path)
    return with_cors(refusal(404, "Not Found: the MCP endpoint is " + m.options.path));
  auto who = m.guards.authenticate(req);
  if (!who)
    return with_cors(std::move(who.error()));

  if (req.method == "POST")
    return with_cors(m.post(req, *who, disconnect, stream));
  if (req.method == "DELETE")
    return with_cors(m.end_session(req, *who));
  http::Response r = refusal(405, "Method Not Allowed: this server answers POST (and DELETE to end a "
                                  "session); it opens no event stream on GET");
  r.set("Allow", "POST, DELETE");
  return with_cors(std::move(r));
}

int run_http(const mcp::Server &server, HttpRunOptions options) {
  // The endpoint needs the bound port (Host and Origin checks), and exists before run() starts
  // the workers, so no request can reach a handler before it is set.
  std::unique_ptr<McpHttpEndpoint> endpoint;
  http::Server http_server(options.server, [&endpoint](const http::Request &r, CancelToken &c,
                                                          http::ResponseStream &s) {
    return endpoint->handle(r, c, s);
  });
  auto port = http_server.listen();
  if (!port) {
    spdlog::error("http: {}", port.error());
    return 1;
  }
  options.endpoint.port = *port;
  endpoint = std::make_unique<McpHttpEndpoint>(server, options.endpoint);
  const std::string &host = options.server.host;
  std::string url = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                    std::to_string(*port) + options.endpoint.path;
  if (options.on_listening)
    options.on_listening(url);
  http_server.run();
  http::ServerStats stats = http_server.stats();
  spdlog::info("http: stopped after {} request(s) on {} connection(s)", stats.requests,
               stats.connections_accepted);
  return 0;
}

} // namespace dfmcp::transport
