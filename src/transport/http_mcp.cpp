#include "transport/http_mcp.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/modern.hpp"
#include "mcp/session.hpp"
#include "util/random.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace dfmcp::transport {

namespace {

using Clock = std::chrono::steady_clock;
using http::iequals;

constexpr const char *kSessionHeader = "Mcp-Session-Id";
constexpr const char *kVersionHeader = "MCP-Protocol-Version";

// Messages for the client while this thread serves a request (log notifications, elicitation
// requests). When the client accepts an event stream they go out at once as SSE events on this
// request's response, before the reply; otherwise log notifications are dropped and requests
// cannot be sent.
struct Outbox {
  http::ResponseStream *stream = nullptr;
  bool sse = false;
  bool begun = false;
  std::vector<http::Header> cors; // an allowed Origin's headers, sent with the stream's head
};
thread_local Outbox *t_outbox = nullptr;

const std::vector<http::Header> kSseHeaders = {{"Content-Type", "text/event-stream"},
                                               {"Cache-Control", "no-cache, no-transform"},
                                               {"X-Accel-Buffering", "no"}};

std::string sse_event_text(std::string_view message) {
  std::string out = "event: message\ndata: ";
  out += message;
  out += "\n\n";
  return out;
}
std::string sse_event(const json &message) { return sse_event_text(dump_json(message)); }

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response json_response(int status, const json &body) { return json_response(status, dump_json(body)); }

// A transport-level refusal, as a JSON-RPC error without an id (the request may not even be one).
http::Response refusal(int status, const std::string &message, int code = mcp::code::kInvalidRequest) {
  return json_response(status, mcp::make_error(nullptr, code, message));
}

bool accepts(const std::string *accept, std::string_view type) {
  if (accept == nullptr)
    return true; // no Accept header means anything
  std::string_view v = *accept;
  std::string_view major = type.substr(0, type.find('/'));
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    std::string_view item = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (iequals(item, type) || item == "*/*" || iequals(item, std::string(major) + "/*"))
      return true;
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return false;
}

bool is_json_content_type(const std::string *ct) {
  if (ct == nullptr)
    return false;
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ')
    v.remove_suffix(1);
  return iequals(v, "application/json");
}

struct SessionEntry {
  std::shared_ptr<mcp::Session> session;
  std::size_t identity = 0;
  Clock::time_point last_used;
  int active = 0;
  std::shared_ptr<std::mutex> handle_mutex = std::make_shared<std::mutex>(); // Session::handle is not reentrant
};

} // namespace

struct McpHttpEndpoint::Impl {
  const mcp::Server &server;
  HttpEndpointOptions options;
  std::vector<std::string> loopback_hosts;   // "127.0.0.1:PORT", ...
  std::vector<std::string> loopback_origins; // "http://127.0.0.1:PORT", ...

  mutable std::mutex mutex;
  std::unordered_map<std::string, SessionEntry> sessions;
  Clock::time_point last_sweep = Clock::now();

  Impl(const mcp::Server &s, HttpEndpointOptions o) : server(s), options(std::move(o)) {
    std::string port = std::to_string(options.port);
    for (const char *h : {"127.0.0.1", "localhost", "[::1]"}) {
      loopback_hosts.push_back(std::string(h) + ":" + port);
      if (options.port == 80)
        loopback_hosts.emplace_back(h);
      loopback_origins.push_back(std::string("http://") + h + ":" + port);
      if (options.port == 80)
        loopback_origins.push_back(std::string("http://") + h);
    }
  }

  static mcp::Session::Notify collector() {
    return [](const json &message) {
      Outbox *box = t_outbox;
      if (box == nullptr || !box->sse || box->stream == nullptr)
        return false;
      if (!box->begun) {
        std::vector<http::Header> headers = kSseHeaders;
        headers.insert(headers.end(), box->cors.begin(), box->cors.end());
        if (!box->stream->begin(200, headers))
          return false;
        box->begun = true;
      }
      return box->stream->write(sse_event(message));
    };
  }

  // --- the checks every request passes ------------------------------------------------------

  std::optional<http::Response> check_host(const http::Request &req) const {
    if (!options.loopback && options.allowed_hosts.empty())
      return std::nullopt; // behind a proxy the Host varies; set allowedHosts to check it
    const std::string *host = req.header("Host");
    if (host == nullptr)
      return refusal(400, "Bad Request: a Host header is required");
    auto match = [&](const std::string &h) { return iequals(h, *host); };
    if ((options.loopback && std::any_of(loopback_hosts.begin(), loopback_hosts.end(), match)) ||
        std::any_of(options.allowed_hosts.begin(), options.allowed_hosts.end(), match))
      return std::nullopt;
    spdlog::warn("http: refused Host '{}' from {} (DNS rebinding protection)", *host, req.remote);
    return refusal(403, "Forbidden: Host '" + *host + "' is not allowed");
  }

  bool origin_allowed(const std::string &origin) const {
    auto match = [&](const std::string &o) { return iequals(o, origin); };
    return std::any_of(options.allowed_origins.begin(), options.allowed_origins.end(), match) ||
           (options.loopback && std::any_of(loopback_origins.begin(), loopback_origins.end(), match));
  }

  // The identity the bearer token names, or the refusal.
  Expected<std::size_t, http::Response> authenticate(const http::Request &req) const {
    if (req.query.find("access_token=") != std::string::npos) {
      http::Response r = refusal(401, "Unauthorized: tokens are not accepted in the query string; "
                                      "send Authorization: Bearer <token>");
      r.set("WWW-Authenticate", "Bearer realm=\"datafast-mcp\", error=\"invalid_request\"");
      return unexpected(std::move(r));
    }
    if (options.identities.size() == 1 && options.identities[0].token.empty())
      return std::size_t{0}; // authentication off (loopback only)
    const std::string *auth = req.header("Authorization");
    std::string presented;
    if (auth != nullptr && auth->size() > 7 && iequals(std::string_view(*auth).substr(0, 7), "Bearer "))
      presented = auth->substr(7);
    // Compare against every identity, in constant time each, so timing tells nothing.
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < options.identities.size(); ++i)
      if (constant_time_equal(presented, options.identities[i].token.reveal()) && !presented.empty())
        found = i;
    if (found)
      return *found;
    http::Response r = refusal(401, auth == nullptr ? "Unauthorized: send Authorization: Bearer <token>"
                                                    : "Unauthorized: the bearer token is not valid");
    r.set("WWW-Authenticate", auth == nullptr ? "Bearer realm=\"datafast-mcp\""
                                              : "Bearer realm=\"datafast-mcp\", error=\"invalid_token\"");
    spdlog::info("http: {} {} from {}: 401 ({})", req.method, req.path, req.remote,
                 auth == nullptr ? "no token" : "invalid token");
    return unexpected(std::move(r));
  }

  // --- sessions -----------------------------------------------------------------------------

  // Drops sessions idle past the timeout (called now and then, under the lock).
  void sweep(Clock::time_point now) {
    if (now - last_sweep < std::chrono::seconds(10))
      return;
    last_sweep = now;
    std::erase_if(sessions, [&](const auto &kv) {
      return kv.second.active == 0 && now - kv.second.last_used > options.session_idle_timeout;
    });
  }

  // Room for one more session: evicts the least recently used idle one when full.
  bool make_room() {
    if (sessions.size() < options.max_sessions)
      return true;
    auto victim = sessions.end();
    for (auto it = sessions.begin(); it != sessions.end(); ++it)
      if (it->second.active == 0 && (victim == sessions.end() || it->second.last_used < victim->second.last_used))
        victim = it;
    if (victim == sessions.end())
      return false;
    spdlog::info("http: session limit ({}) reached; ended the least recently used session",
                 options.max_sessions);
    sessions.erase(victim);
    return true;
  }

  // --- responses ----------------------------------------------------------------------------

  // Runs a step: the reply now, or its job here on this worker, cancelled if the client leaves.
  // Messages the session sends meanwhile stream out as SSE; then the reply ends the stream.
  static http::Response run_step(mcp::Session &session, mcp::Step step, const http::Request &req,
                                 CancelToken &disconnect, http::ResponseStream &stream) {
    if (step.reply_text) // a fixed result: nothing streams before it
      return json_response(step.http_status, std::move(*step.reply_text));
    Outbox box{&stream, accepts(req.header("Accept"), "text/event-stream"), false, {}};
    if (const std::string *origin = req.header("Origin")) // allowed, or the request was refused
      box.cors = {{"Access-Control-Allow-Origin", *origin}, {"Vary", "Origin"},
                  {"Access-Control-Expose-Headers", "Mcp-Session-Id"}};
    t_outbox = &box;
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
    t_outbox = nullptr;
    if (box.begun) { // the head went out already: the reply (if any) is the last event
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
      if (message.value("method", "") == "initialize")
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
    mcp::Session session(server, identity.name, *identity.ceiling, collector(), "http");
    mcp::Step step = session.handle(message);
    return run_step(session, std::move(step), req, disconnect, stream);
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
      auto session = std::make_shared<mcp::Session>(server, identity.name, *identity.ceiling, collector(), "http");
      mcp::Step step = session->handle(message);
      if (!step.reply || !step.reply->contains("result"))
        return json_response(200, step.reply ? *step.reply : json(nullptr));
      std::string id = random_hex(32);
      {
        std::lock_guard lock(mutex);
        sweep(Clock::now());
        if (!make_room()) {
          http::Response r = refusal(503, "Service Unavailable: every session is busy; retry shortly");
          r.set("Retry-After", "1");
          return r;
        }
        SessionEntry entry;
        entry.session = session;
        entry.identity = who;
        entry.last_used = Clock::now();
        sessions.emplace(id, std::move(entry));
      }
      spdlog::info("http: {} opened session {}... ({} open)", identity.name, id.substr(0, 8), session_count());
      http::Response r = json_response(200, *step.reply);
      r.set(kSessionHeader, id);
      return r;
    }

    const std::string *sid = req.header(kSessionHeader);
    if (sid == nullptr)
      return refusal(400, "Bad Request: the Mcp-Session-Id header is required (send initialize first)");
    if (const std::string *v = req.header(kVersionHeader); v != nullptr && !mcp::is_supported_version(*v))
      return refusal(400, "Bad Request: unsupported MCP-Protocol-Version '" + *v + "'");
    std::shared_ptr<mcp::Session> session;
    std::shared_ptr<std::mutex> handle_mutex;
    {
      std::lock_guard lock(mutex);
      auto it = sessions.find(*sid);
      // Another client's session is as good as unknown: sessions never carry authority.
      if (it == sessions.end() || it->second.identity != who)
        return refusal(404, "Not Found: session not found or ended; initialize a new one", -32001);
      it->second.last_used = Clock::now();
      ++it->second.active;
      session = it->second.session;
      handle_mutex = it->second.handle_mutex;
    }
    mcp::Step step;
    {
      std::lock_guard lock(*handle_mutex);
      step = session->handle(message);
    }
    http::Response r;
    if (in->kind != mcp::Incoming::Kind::Request) {
      r.status = 202; // notifications and responses: accepted, no body
    } else {
      r = run_step(*session, std::move(step), req, disconnect, stream);
    }
    std::lock_guard lock(mutex);
    if (auto it = sessions.find(*sid); it != sessions.end()) {
      --it->second.active;
      it->second.last_used = Clock::now();
    }
    return r;
  }

  http::Response end_session(const http::Request &req, std::size_t who) {
    const std::string *sid = req.header(kSessionHeader);
    if (sid == nullptr)
      return refusal(400, "Bad Request: the Mcp-Session-Id header is required");
    std::shared_ptr<mcp::Session> session;
    {
      std::lock_guard lock(mutex);
      auto it = sessions.find(*sid);
      if (it == sessions.end() || it->second.identity != who)
        return refusal(404, "Not Found: session not found or ended", -32001);
      session = it->second.session;
      sessions.erase(it);
    }
    session->cancel_all(false);
    spdlog::info("http: {} ended session {}...", options.identities[who].name, sid->substr(0, 8));
    http::Response r;
    r.status = 200;
    return r;
  }

  std::size_t session_count() const {
    std::lock_guard lock(mutex);
    return sessions.size();
  }
};

McpHttpEndpoint::McpHttpEndpoint(const mcp::Server &server, HttpEndpointOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}
McpHttpEndpoint::~McpHttpEndpoint() = default;

std::size_t McpHttpEndpoint::session_count() const { return impl_->session_count(); }

void McpHttpEndpoint::cancel_all(bool hard) {
  std::vector<std::shared_ptr<mcp::Session>> all;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto &[id, e] : impl_->sessions)
      all.push_back(e.session);
  }
  for (auto &s : all)
    s->cancel_all(hard);
}

http::Response McpHttpEndpoint::handle(const http::Request &req, CancelToken &disconnect,
                                       http::ResponseStream &stream) {
  Impl &m = *impl_;
  if (auto refused = m.check_host(req))
    return *refused;
  const std::string *origin = req.header("Origin");
  if (origin != nullptr && !m.origin_allowed(*origin)) {
    spdlog::warn("http: refused Origin '{}' from {}", *origin, req.remote);
    return refusal(403, "Forbidden: Origin '" + *origin + "' is not allowed");
  }
  auto with_cors = [&](http::Response r) {
    if (origin != nullptr) { // allowed, or we would not be here; never a wildcard
      r.set("Access-Control-Allow-Origin", *origin);
      r.set("Vary", "Origin");
      r.set("Access-Control-Expose-Headers", "Mcp-Session-Id");
    }
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
  auto who = m.authenticate(req);
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
