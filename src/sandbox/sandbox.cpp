#include "sandbox/sandbox.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace dfmcp::sandbox {

namespace {

constexpr std::size_t kWorkerThreads = 16;
constexpr std::size_t kPayloadMaxLength = 1024 * 1024;
constexpr time_t kReadTimeoutS = 5;
constexpr std::size_t kStreamChunk = 64 * 1024;
constexpr std::string_view kJson = "application/json";

std::string envelope(int status, std::string_view message) {
  const nlohmann::json body = {{"status", "error"},
                               {"error", {{"code", status}, {"message", message}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void answer_error(httplib::Response &res, int status, std::string_view message) {
  res.status = status;
  res.set_content(envelope(status, message), std::string(kJson));
}

std::string escape_regex(std::string_view text) {
  static constexpr std::string_view kSpecial = R"(\^$.|?*+()[]{})";
  std::string out;
  for (char c : text) {
    if (kSpecial.find(c) != std::string_view::npos)
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Whether `authorization` carries the key of a live token; every key is compared so the answer
// takes the same time whichever token matched.
bool is_live_bearer(const Account &account, std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer))
    return false;
  const std::string_view presented = authorization.substr(kBearer.size());
  bool found = false;
  for (const auto &token : account.tokens())
    found = constant_time_equal(presented, token.key.reveal()) || found;
  return found && !presented.empty();
}

// A list body the way the account would serve it, computed on a throwaway account so that the
// real one sees no request (and no lastUsedAt change) for a fault.
std::string sample_list_body() {
  Account scratch;
  const std::string authorization = "Bearer " + scratch.parent_token().reveal();
  return scratch.handle("GET", "/access-tokens", authorization, "").body;
}

// Declares `full` as the body, sends half of it, then makes httplib drop the connection: the
// client never gets a whole answer. (A body held in res.body would be sent whole instead.)
void cut_mid_body(httplib::Response &res, std::string full) {
  res.body.clear();
  const std::size_t length = full.size(); // before `full` moves into the provider
  res.set_content_provider(length, std::string(kJson),
                           [full = std::move(full)](std::size_t offset, std::size_t, httplib::DataSink &sink) {
                             if (offset == 0)
                               sink.write(full.data(), full.size() / 2);
                             return false;
                           });
}

} // namespace

struct Sandbox::Impl {
  explicit Impl(Options opts)
      : options(std::move(opts)),
        ca(tls::CertificateAuthority::generate("datafast-mcp sandbox CA")) {
    if (options.untrusted_certificate) {
      // The issuing CA is dropped at once: nobody can ever trust it.
      const auto rogue = tls::CertificateAuthority::generate("datafast-mcp untrusted CA");
      leaf = rogue.issue(options.leaf);
    } else {
      leaf = ca.issue(options.leaf);
    }
  }

  void serve(const httplib::Request &req, httplib::Response &res);
  void serve_fault(const Fault &fault, std::size_t index, std::unique_lock<std::mutex> &lock,
                   httplib::Response &res);
  void serve_account(const httplib::Request &req, std::size_t index,
                     std::unique_lock<std::mutex> &lock, httplib::Response &res);
  std::optional<Fault> take_fault(const std::string &method, std::string_view path);

  Options options;
  tls::CertificateAuthority ca;
  tls::Leaf leaf;
  std::unique_ptr<httplib::SSLServer> server;
  int port = -1;
  std::thread listener;
  std::atomic<bool> listener_done{false};

  mutable std::mutex mutex;                // guards everything below
  mutable std::condition_variable changed; // a request arrived, hangs released, or stopping
  Account account;
  std::deque<Fault> faults;
  std::vector<RecordedRequest> log;
  std::uint64_t hang_generation = 0;
  bool stopping = false;
};

std::optional<Fault> Sandbox::Impl::take_fault(const std::string &method, std::string_view path) {
  auto it = std::find_if(faults.begin(), faults.end(), [&](const Fault &f) {
    return (f.method.empty() || f.method == method) &&
           (f.path.empty() || path == options.base_path + f.path);
  });
  if (it == faults.end())
    return std::nullopt;
  Fault fault = *it;
  if (it->times <= 1)
    faults.erase(it);
  else
    --it->times;
  return fault;
}

void Sandbox::Impl::serve(const httplib::Request &req, httplib::Response &res) {
  std::unique_lock lock(mutex);
  const std::size_t index = log.size();
  log.push_back({req.method, req.path, req.body,
                 is_live_bearer(account, req.get_header_value("Authorization")), 0});
  changed.notify_all();

  // httplib routes HEAD to the GET handlers.
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  if (std::optional<Fault> fault = take_fault(method, req.path)) {
    if (fault->kind == Fault::Kind::LoseAnswer) {
      serve_account(req, index, lock, res); // the change happens...
      log[index].status = 0;                // ...but the client never gets the whole answer
      cut_mid_body(res, res.body.empty() ? std::string(64, ' ') : res.body);
      return;
    }
    if (fault->kind != Fault::Kind::Delay) {
      serve_fault(*fault, index, lock, res);
      return;
    }
    changed.wait_for(lock, fault->delay, [&] { return stopping; });
  }
  serve_account(req, index, lock, res);
}

void Sandbox::Impl::serve_account(const httplib::Request &req, std::size_t index,
                                  std::unique_lock<std::mutex> &lock, httplib::Response &res) {
  const std::string_view path = req.path;
  const std::string_view base = options.base_path;
  if (!path.starts_with(base) || (path.size() > base.size() && path[base.size()] != '/')) {
    log[index].status = 404;
    lock.unlock();
    answer_error(res, 404, "Not found");
    return;
  }
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  HttpResponse answer = account.handle(method, path.substr(base.size()),
                                       req.get_header_value("Authorization"), req.body);
  log[index].status = answer.status;
  lock.unlock();
  res.status = answer.status;
  for (const auto &[name, value] : answer.headers)
    res.set_header(name, value);
  res.set_content(answer.body, std::string(kJson));
}

void Sandbox::Impl::serve_fault(const Fault &fault, std::size_t index,
                                std::unique_lock<std::mutex> &lock, httplib::Response &res) {
  switch (fault.kind) {
  case Fault::Kind::Status:
    log[index].status = fault.status;
    lock.unlock();
    answer_error(res, fault.status, "Injected fault");
    if (!fault.retry_after.empty())
      res.set_header("Retry-After", fault.retry_after);
    return;

  case Fault::Kind::Delay:
  case Fault::Kind::LoseAnswer:
    break; // serve() handles these
  case Fault::Kind::Trickle: {
    log[index].status = 200;
    lock.unlock();
    const std::string full = sample_list_body();
    res.status = 200;
    const auto delay = fault.delay.count() > 0 ? fault.delay : std::chrono::milliseconds(100);
    Impl *self = this;
    res.set_content_provider(full.size(), std::string(kJson),
                             [full, delay, self](std::size_t offset, std::size_t, httplib::DataSink &sink) {
                               std::unique_lock l(self->mutex);
                               if (self->changed.wait_for(l, delay, [&] { return self->stopping; }))
                                 return false;
                               l.unlock();
                               return sink.write(full.data() + offset, 1);
                             });
    return;
  }
  case Fault::Kind::Hang: {
    const std::uint64_t generation = hang_generation;
    changed.wait(lock, [&] { return stopping || hang_generation != generation; });
    log[index].status = 503;
    lock.unlock();
    answer_error(res, 503, "Hang released");
    return;
  }

  case Fault::Kind::Garbage:
    log[index].status = 200;
    lock.unlock();
    res.status = 200;
    res.set_content("<html>not json</html>", "text/html");
    return;

  case Fault::Kind::Truncated: {
    log[index].status = 200;
    lock.unlock();
    const std::string full = sample_list_body();
    res.status = 200;
    res.set_content(full.substr(0, full.size() / 2), std::string(kJson));
    return;
  }

  case Fault::Kind::WrongShape:
    log[index].status = 200;
    lock.unlock();
    res.status = 200;
    res.set_content(R"({"status":"success","data":{}})", std::string(kJson));
    return;

  case Fault::Kind::HugeBody: {
    log[index].status = 200;
    lock.unlock();
    res.status = 200;
    // Streamed in chunks so that a 50 MB body never sits in memory. It is a valid (if absurd)
    // JSON document when it is long enough, so a client without a size cap would accept it.
    static constexpr std::string_view kHead = R"({"status":"success","data":")";
    static constexpr std::string_view kTail = R"("})";
    const std::size_t size = fault.size;
    const bool framed = size >= kHead.size() + kTail.size();
    res.set_content_provider(
        size, std::string(kJson),
        [size, framed](std::size_t offset, std::size_t length, httplib::DataSink &sink) {
          std::string chunk(std::min(length, kStreamChunk), 'x');
          for (std::size_t i = 0; i < chunk.size(); ++i) {
            const std::size_t at = offset + i;
            if (framed && at < kHead.size())
              chunk[i] = kHead[at];
            else if (framed && at >= size - kTail.size())
              chunk[i] = kTail[at - (size - kTail.size())];
          }
          return sink.write(chunk.data(), chunk.size());
        });
    return;
  }

  case Fault::Kind::Reset: {
    lock.unlock(); // status stays 0: the client never gets a whole answer
    res.status = 200;
    cut_mid_body(res, sample_list_body());
    return;
  }
  }
}

std::unique_ptr<Sandbox> Sandbox::start(Options options) {
  std::unique_ptr<Sandbox> sandbox(new Sandbox());
  sandbox->impl_ = std::make_unique<Impl>(std::move(options));
  Impl &impl = *sandbox->impl_;

  impl.server = std::make_unique<httplib::SSLServer>(impl.leaf.cert.get(), impl.leaf.key.get());
  httplib::SSLServer &server = *impl.server;
  if (!server.is_valid())
    throw std::runtime_error("sandbox: cannot set up the TLS server context");

  // Tests hold one kept-alive connection for many requests; httplib's default of 5 would make
  // handshake counts depend on the request count.
  server.set_keep_alive_max_count(1000000);
  server.set_keep_alive_timeout(impl.options.keep_alive_timeout_s);
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(kPayloadMaxLength);
  server.set_read_timeout(kReadTimeoutS, 0);
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.set_exception_handler(
      [](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
        // The exception text is not sent: it could carry anything, including a key.
        answer_error(res, 500, "Internal server error");
      });
  server.set_error_handler([](const httplib::Request &, httplib::Response &res) {
    // Errors httplib produces itself (413, 400) get DataFast's envelope too; ours have a body.
    if (res.body.empty())
      res.set_content(envelope(res.status, "Request rejected"), std::string(kJson));
  });

  auto handler = [&impl](const httplib::Request &req, httplib::Response &res) {
    impl.serve(req, res);
  };
  const std::string tokens = escape_regex(impl.options.base_path) + "/access-tokens";
  for (const std::string &pattern : {tokens, tokens + "/([^/]+)"}) {
    server.Get(pattern, handler);
    server.Post(pattern, handler);
    server.Delete(pattern, handler);
  }
  // Everything else still goes through serve(): it is logged, faults apply, and other methods on
  // the token paths get the account's 405.
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);

  impl.port = impl.options.port == 0 ? server.bind_to_any_port(impl.options.host)
                                     : (server.bind_to_port(impl.options.host, impl.options.port)
                                            ? impl.options.port
                                            : -1);
  if (impl.port < 0)
    throw std::runtime_error("sandbox: cannot bind to " + impl.options.host);

  impl.listener = std::thread([&impl] {
    impl.server->listen_after_bind();
    impl.listener_done = true;
  });
  // 0.11.4 has no wait_until_ready(), and stop() before is_running() is a no-op that would leave
  // join() hanging, so wait here until the accept loop is up.
  while (!server.is_running()) {
    if (impl.listener_done) {
      impl.listener.join();
      throw std::runtime_error("sandbox: the server stopped before it started listening");
    }
    std::this_thread::yield();
  }
  return sandbox;
}

Sandbox::~Sandbox() { stop(); }

void Sandbox::stop() {
  if (!impl_)
    return;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping)
      return;
    impl_->stopping = true; // releases hangs and delays before the server waits for its workers
  }
  impl_->changed.notify_all();
  if (impl_->server)
    impl_->server->stop();
  if (impl_->listener.joinable())
    impl_->listener.join();
}

int Sandbox::port() const { return impl_->port; }

std::string Sandbox::base_url() const {
  const std::string &host = impl_->options.host;
  const std::string authority =
      host.find(':') != std::string::npos ? "[" + host + "]" : host; // IPv6 literal
  return "https://" + authority + ":" + std::to_string(impl_->port) + impl_->options.base_path;
}

std::string Sandbox::ca_pem() const { return impl_->ca.pem(); }

X509_STORE *Sandbox::new_trust_store() const { return impl_->ca.new_store(); }

Secret Sandbox::parent_token() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->account.parent_token();
}

void Sandbox::inject(Fault fault) {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.push_back(std::move(fault));
}

void Sandbox::clear_faults() {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.clear();
}

void Sandbox::release_hangs() {
  {
    std::lock_guard lock(impl_->mutex);
    ++impl_->hang_generation;
  }
  impl_->changed.notify_all();
}

std::vector<RecordedRequest> Sandbox::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t Sandbox::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log.size();
}

bool Sandbox::wait_for_requests(std::size_t n, std::chrono::milliseconds guard) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, guard, [&] { return impl_->log.size() >= n; });
}

long Sandbox::tls_handshakes() const {
  return SSL_CTX_sess_accept_good(impl_->server->ssl_context());
}

void Sandbox::with_account(const std::function<void(Account &)> &f) {
  std::lock_guard lock(impl_->mutex);
  f(impl_->account);
}

} // namespace dfmcp::sandbox
