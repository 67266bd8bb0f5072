#include "upstream/http_client.hpp"

#include "util/json_input.hpp"

#include <httplib.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace dfmcp::upstream {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMaxConnectTime{10000};

// Fires callbacks at deadlines (it aborts requests that overrun: cpp-httplib's timeouts apply to
// each read, so a peer trickling bytes could otherwise hold a request forever). A fired entry is
// fired again every 200 ms until removed, because SSLClient::stop() does nothing when it lands
// before the request's socket exists. fire_now() lets another thread (a cancellation) abort a
// request without blocking: stop() can block while a connect is in progress, and that wait
// belongs on this thread, not the caller's. remove() waits for a callback that is running, so
// after it returns the callback is not running and never will.
//
// The thread is woken only when it must act sooner than it planned (wake_at_): adding a deadline
// later than the one it sleeps towards, or removing an entry, wakes nobody. Every upstream request
// adds and removes one entry, and on a small machine each needless wake is a context switch on
// the request's path.
class Watchdog {
public:
  Watchdog() = default; // the thread starts with the first request
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

  std::uint64_t add(Clock::time_point deadline, std::function<void()> fire) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable())
      thread_ = std::thread([this] { run(); });
    std::uint64_t id = ++next_id_;
    entries_.emplace(id, Entry{deadline, std::move(fire), false});
    if (deadline < wake_at_)
      cv_.notify_all();
    return id;
  }

  void fire_now(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end() && !it->second.firing) {
      it->second.deadline = Clock::now();
      cv_.notify_all();
    }
  }

  void remove(std::uint64_t id) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] {
      auto it = entries_.find(id);
      return it == entries_.end() || !it->second.firing;
    });
    entries_.erase(id); // the thread may wake for it later, find nothing due, and sleep again
  }

private:
  struct Entry {
    Clock::time_point deadline;
    std::function<void()> fire;
    bool firing;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      auto next = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (!it->second.firing && (next == entries_.end() || it->second.deadline < next->second.deadline))
          next = it;
      if (next == entries_.end()) {
        wake_at_ = Clock::time_point::max();
        cv_.wait(lock);
        wake_at_ = Clock::time_point::min(); // awake: every add() is seen by the next scan
        continue;
      }
      if (Clock::time_point deadline = next->second.deadline; Clock::now() < deadline) {
        wake_at_ = deadline; // a copy: the entry may be erased while this waits
        cv_.wait_until(lock, deadline);
        wake_at_ = Clock::time_point::min();
        continue;
      }
      Entry &entry = next->second;
      entry.firing = true;
      std::function<void()> fire = entry.fire;
      lock.unlock();
      fire();
      lock.lock();
      entry.firing = false; // remove() waits for this, so the entry still exists
      entry.deadline = Clock::now() + std::chrono::milliseconds(200);
      cv_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  Clock::time_point wake_at_ = Clock::time_point::min(); // when the thread will look again by itself
  bool stopping_ = false;
  std::thread thread_;
};

// The verify callback records why a certificate was rejected, per connection (each SSLClient owns
// its SSL_CTX, whose app data points at the connection's slot).
int record_verify_error(int preverify_ok, X509_STORE_CTX *store_ctx) {
  if (preverify_ok)
    return 1;
  auto *ssl = static_cast<SSL *>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl != nullptr) {
    if (auto *slot = static_cast<std::atomic<long> *>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))))
      slot->store(X509_STORE_CTX_get_error(store_ctx));
  }
  return 0;
}

struct Connection {
  std::unique_ptr<httplib::SSLClient> client;
  Clock::time_point last_used{};
  bool used = false;
  std::atomic<long> verify_error{0};
  std::atomic<bool> timed_out{false};
  std::atomic<bool> cancelled{false};
  std::string ca_problem; // the CA file would not load: nothing can be verified, so nothing is sent
};

const char *method_name(Method m) {
  switch (m) {
  case Method::Get: return "GET";
  case Method::Post: return "POST";
  case Method::Delete: return "DELETE";
  }
  return "GET";
}

std::string envelope_message(const std::string &body) {
  auto parsed = parse_json(body);
  if (parsed && parsed->is_object()) {
    const json &j = *parsed;
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      auto msg = err->find("message");
      if (msg != err->end() && msg->is_string())
        return sanitize_detail(msg->get<std::string>());
    }
    auto msg = j.find("message");
    if (msg != j.end() && msg->is_string())
      return sanitize_detail(msg->get<std::string>());
    return {};
  }
  return {}; // not JSON: do not quote an HTML error page
}

ErrorKind kind_of_status(int status) {
  if (status == 401) return ErrorKind::Unauthorized;
  if (status == 403) return ErrorKind::Forbidden;
  if (status == 404) return ErrorKind::NotFound;
  if (status == 400 || status == 409 || status == 422) return ErrorKind::BadRequest;
  if (status == 429) return ErrorKind::RateLimited;
  if (status >= 500 && status <= 599) return ErrorKind::ServerError;
  return ErrorKind::UnexpectedStatus;
}

} // namespace

std::optional<std::string> ca_file_problem(const std::string &path) {
  X509_STORE *store = X509_STORE_new();
  int ok = X509_STORE_load_file(store, path.c_str());
  X509_STORE_free(store);
  if (ok != 1)
    return "cannot load certificates from '" + path + "' (missing, unreadable or not PEM)";
  return std::nullopt;
}

std::optional<std::string> ca_file_quick_problem(const std::string &path) {
  const std::string unreadable = "cannot load certificates from '" + path + "' (missing, unreadable or not PEM)";
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return unreadable;
  std::string text;
  char buf[16384];
  constexpr std::size_t kMaxBytes = 64u << 20; // far above any real CA bundle
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < kMaxBytes;)
    text.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed)
    return unreadable;
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::size_t begin = text.find(kBegin);
  if (begin == std::string::npos)
    return unreadable;
  std::size_t body = begin + kBegin.size();
  std::size_t end = text.find(kEnd, body);
  if (end == std::string::npos)
    return unreadable;
  // The body: base64 characters and line breaks; its first byte must open a DER SEQUENCE (0x30,
  // which base64 writes as 'M').
  std::string_view b64(text.data() + body, end - body);
  std::size_t chars = 0;
  char first = 0;
  for (char c : b64) {
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (alpha || c == '=') {
      if (chars++ == 0)
        first = c;
    } else if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
      return unreadable;
    }
  }
  if (chars < 64 || chars % 4 != 0 || first != 'M')
    return unreadable;
  return std::nullopt;
}

struct HttpClient::Impl {
  ClientConfig config;
  std::mutex mutex;
  std::condition_variable available;
  std::vector<std::unique_ptr<Connection>> idle; // most recently used last
  std::size_t open = 0;
  Watchdog watchdog;

  explicit Impl(ClientConfig c) : config(std::move(c)) {}

  std::unique_ptr<Connection> make_connection() {
    auto conn = std::make_unique<Connection>();
    conn->client = std::make_unique<httplib::SSLClient>(config.url.host, config.url.port);
    httplib::SSLClient &cli = *conn->client;
    // cpp-httplib's own check falls back to the subject CN and, given a store, still adds the
    // system paths; so verification is done by OpenSSL itself against exactly our store.
    cli.enable_server_certificate_verification(false);
    X509_STORE *store = nullptr;
    if (config.trust.make_store) {
      store = config.trust.make_store();
    } else {
      store = X509_STORE_new();
      if (config.trust.ca_file) {
        if (X509_STORE_load_file(store, config.trust.ca_file->c_str()) != 1)
          conn->ca_problem = "cannot load certificates from '" + *config.trust.ca_file + "' (not valid PEM certificates)";
      } else {
        X509_STORE_set_default_paths(store);
      }
    }
    cli.set_ca_cert_store(store); // takes ownership
    SSL_CTX *ctx = cli.ssl_context();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_app_data(ctx, &conn->verify_error);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_verify_error);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (config.url.host_is_ip)
      X509_VERIFY_PARAM_set1_ip_asc(param, config.url.host.c_str());
    else
      X509_VERIFY_PARAM_set1_host(param, config.url.host.c_str(), config.url.host.size());

    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);
    cli.set_follow_location(false);
    cli.set_decompress(true);
    cli.set_bearer_token_auth(config.token.reveal());
    cli.set_default_headers({{"Accept", "application/json"},
                             {"User-Agent", std::string("datafast-mcp/") + DFMCP_VERSION}});
    return conn;
  }

  std::unique_ptr<Connection> acquire(Clock::time_point deadline) {
    std::unique_lock lock(mutex);
    for (;;) {
      if (!idle.empty()) {
        auto conn = std::move(idle.back());
        idle.pop_back();
        return conn;
      }
      if (open < config.max_connections) {
        ++open;
        lock.unlock();
        return make_connection();
      }
      if (available.wait_until(lock, deadline) == std::cv_status::timeout)
        return nullptr;
    }
  }

  void release(std::unique_ptr<Connection> conn) {
    {
      std::lock_guard lock(mutex);
      idle.push_back(std::move(conn));
    }
    available.notify_one();
  }

  Expected<HttpReply, UpstreamError> send_once(Connection &conn, Method method,
                                               const std::string &path, const std::string &body,
                                               Clock::time_point deadline, CancelToken *cancel) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0)
      return unexpected(UpstreamError{ErrorKind::Timeout, 0, "deadline passed before sending",
                                      "", false});
    if (!conn.ca_problem.empty())
      return unexpected(UpstreamError{ErrorKind::Tls, 0, conn.ca_problem, "", false});
    httplib::SSLClient &cli = *conn.client;
    // Connecting never deserves the whole deadline, and stop() cannot interrupt it.
    cli.set_connection_timeout(std::min(remaining, kMaxConnectTime));
    cli.set_read_timeout(remaining);
    cli.set_write_timeout(remaining);
    conn.verify_error = 0;
    conn.timed_out = false;
    conn.cancelled = false;

    httplib::Request req;
    req.method = method_name(method);
    req.path = config.url.base_path + path;
    if (method == Method::Post) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    HttpReply reply;
    bool too_large = false;
    req.content_receiver = [&](const char *data, std::size_t len, std::uint64_t, std::uint64_t) {
      if (reply.body.size() + len > config.max_response_bytes) {
        too_large = true;
        return false;
      }
      reply.body.append(data, len);
      return true;
    };

    // A cancelled GET is aborted at once. A POST or DELETE already under way is left to finish
    // (within the deadline) unless the cancellation is a hard abort (shutdown): aborting it would
    // leave unknown whether DataFast applied it.
    if (cancel && cancel->cancelled())
      return unexpected(UpstreamError{ErrorKind::Cancelled, 0, "", "", false});
    std::uint64_t watch = watchdog.add(deadline, [&conn] {
      if (!conn.cancelled)
        conn.timed_out = true;
      conn.client->stop();
    });
    if (cancel && !cancel->set_hook([this, &conn, watch, method](bool hard) {
          if (method == Method::Get || hard) {
            conn.cancelled = true;
            watchdog.fire_now(watch); // stop() may block during a connect: not on this thread
          }
        })) {
      watchdog.remove(watch);
      return unexpected(UpstreamError{ErrorKind::Cancelled, 0, "", "", false});
    }
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    bool ok = cli.send(req, res, err);
    if (cancel)
      cancel->clear_hook(); // first: no fire_now() after this
    watchdog.remove(watch);

    // The flags matter only for a failed send: a deadline or cancellation that lands just after a
    // complete answer does not undo it.
    if (!ok && conn.cancelled)
      return unexpected(UpstreamError{ErrorKind::Cancelled, 0, "", "", true});
    if (!ok && conn.timed_out)
      return unexpected(UpstreamError{ErrorKind::Timeout, 0,
                                      "no complete answer within " +
                                          std::to_string(config.timeout.count()) + " ms",
                                      "", true});
    if (too_large)
      return unexpected(UpstreamError{ErrorKind::BadResponse, res.status,
                                      "answer larger than " +
                                          std::to_string(config.max_response_bytes) + " bytes",
                                      "", true});
    if (!ok) {
      std::string where = config.url.host + ":" + std::to_string(config.url.port);
      switch (err) {
      case httplib::Error::Connection:
        return unexpected(UpstreamError{ErrorKind::Connection, 0, "cannot connect to " + where,
                                        "", false});
      case httplib::Error::ConnectionTimeout:
        return unexpected(UpstreamError{ErrorKind::Timeout, 0, "connecting to " + where, "",
                                        false});
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLServerVerification:
      case httplib::Error::SSLLoadingCerts: {
        long v = conn.verify_error.load();
        std::string why = v != 0 ? std::string("certificate of ") + where + " rejected: " +
                                       X509_verify_cert_error_string(v)
                                 : "TLS handshake with " + where + " failed";
        return unexpected(UpstreamError{ErrorKind::Tls, 0, why, "", false});
      }
      case httplib::Error::Read:
        return unexpected(UpstreamError{ErrorKind::Connection, 0,
                                        "connection to " + where + " lost before a full answer",
                                        "", true});
      case httplib::Error::Write:
        return unexpected(UpstreamError{ErrorKind::Connection, 0,
                                        "connection to " + where + " lost while sending", "",
                                        true});
      default:
        return unexpected(UpstreamError{ErrorKind::Connection, 0,
                                        "request to " + where + " failed: " + httplib::to_string(err),
                                        "", true});
      }
    }
    reply.status = res.status;
    reply.retry_after = res.get_header_value("Retry-After");
    if (res.status >= 200 && res.status < 300)
      return reply;
    UpstreamError e{kind_of_status(res.status), res.status, envelope_message(reply.body),
                    sanitize_detail(reply.retry_after, 40), true};
    if (res.status >= 300 && res.status < 400)
      e.detail = "redirect not followed";
    return unexpected(std::move(e));
  }
};

HttpClient::HttpClient(ClientConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
HttpClient::~HttpClient() = default;

const ClientConfig &HttpClient::config() const { return impl_->config; }

namespace {

// Retry-After: delta-seconds or an HTTP-date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> retry_after(const std::string &value) {
  if (value.empty())
    return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) && value.size() < 9)
    return std::chrono::seconds(std::stol(value));
  std::tm tm{};
  if (const char *end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm); end != nullptr && *end == '\0') {
    auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(when - std::chrono::system_clock::now());
    return wait.count() > 0 ? wait : std::chrono::milliseconds(0);
  }
  return std::nullopt;
}

// Worth another try for an idempotent request: the server said "later" or failed transiently,
// or the connection failed before an answer.
bool transient(const UpstreamError &e) {
  if (e.kind == ErrorKind::RateLimited)
    return true;
  if (e.kind == ErrorKind::ServerError)
    return e.status == 502 || e.status == 503 || e.status == 504;
  return e.kind == ErrorKind::Connection;
}

} // namespace

Expected<HttpReply, UpstreamError> HttpClient::request(Method method, const std::string &path,
                                                       const std::string &body, CancelToken *cancel,
                                                       std::optional<Clock::time_point> until) {
  const ClientConfig &cfg = impl_->config;
  auto deadline = Clock::now() + cfg.timeout;
  if (until && *until < deadline)
    deadline = *until;
  std::optional<Expected<HttpReply, UpstreamError>> result;
  int attempt = 0;
  for (;;) {
    ++attempt;
    auto conn = impl_->acquire(deadline);
    if (!conn)
      return unexpected(UpstreamError{ErrorKind::Timeout, 0, "every upstream connection stayed busy", "", false, attempt});
    bool reused = conn->used;
    if (reused && method != Method::Get && Clock::now() - conn->last_used > cfg.stale_after)
      conn->client->stop(); // a fresh connection: a POST is never sent twice
    result = impl_->send_once(*conn, method, path, body, deadline, cancel);
    // A GET on a kept-alive connection the server had already closed fails at once with
    // Read/Write; it is safe to send again at once, on a new connection.
    if (!*result && reused && method == Method::Get && result->error().kind == ErrorKind::Connection) {
      conn->client->stop();
      spdlog::debug("upstream: kept-alive connection was closed by the server; retrying GET {}", path);
      result = impl_->send_once(*conn, method, path, body, deadline, cancel);
    }
    // After a transport failure the connection's state is unknown; an HTTP error status leaves it
    // usable.
    if (!*result && result->error().kind != ErrorKind::Cancelled &&
        (result->error().status == 0 || result->error().kind == ErrorKind::BadResponse))
      conn->client->stop();
    conn->used = true;
    conn->last_used = Clock::now();
    impl_->release(std::move(conn));

    if (*result || method == Method::Post || attempt > cfg.max_retries || !transient(result->error()))
      break;
    // GET and DELETE are retried: capped exponential backoff with jitter, or what Retry-After
    // asks, as long as the deadline leaves room.
    auto backoff = std::min(cfg.retry_cap, cfg.retry_base * (1 << (attempt - 1)));
    std::uint64_t jitter = 0;
    RAND_bytes(reinterpret_cast<unsigned char *>(&jitter), sizeof jitter);
    auto wait = std::chrono::milliseconds(backoff.count() / 2 + static_cast<long>(jitter % static_cast<std::uint64_t>(backoff.count() / 2 + 1)));
    if (auto asked = retry_after(result->error().retry_after))
      wait = std::max(wait, *asked);
    if (Clock::now() + wait >= deadline)
      break;
    spdlog::info("upstream: {} {} failed ({}); retry {} in {} ms", method == Method::Get ? "GET" : "DELETE", path,
                 describe(result->error(), "request", false), attempt, wait.count());
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    if (cancel && !cancel->set_hook([&](bool) {
          std::lock_guard lock(m);
          stop = true;
          cv.notify_all();
        }))
      break;
    {
      std::unique_lock lock(m);
      cv.wait_for(lock, wait, [&] { return stop; });
    }
    if (cancel)
      cancel->clear_hook();
    if (stop)
      return unexpected(UpstreamError{ErrorKind::Cancelled, 0, "", "", false, attempt});
  }
  if (!*result)
    result->error().attempts = attempt;
  else
    result->value().attempts = attempt;
  return std::move(*result);
}

} // namespace dfmcp::upstream
