// The one translation unit that includes Boost.Beast and Boost.Asio (they compile slowly, and the
// CI builds this three times): the request front end (RequestReader over Beast's request parser)
// and the server (Asio's reactor, timers and signal_set; a pool of worker threads runs handlers).
#include "http/request_reader.hpp"
#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

namespace dfmcp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// --- the request front end ------------------------------------------------------------------

namespace {

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A line in `bytes` that ends in LF without CR before it (RFC 9112 §2.2 lets a server reject it;
// a proxy that ends lines at LF would see other requests than we do).
bool has_bare_lf(std::string_view bytes) {
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1))
    if (i == 0 || bytes[i - 1] != '\r')
      return true;
  return false;
}

} // namespace

struct RequestReader::Impl {
  using Parser = bhttp::request_parser<bhttp::string_body>;
  using ChunkHeader = std::function<void(std::uint64_t, beast::string_view, beast::error_code &)>;

  Limits limits;
  std::optional<Parser> parser; // only while a request is read: an idle connection holds none
  ChunkHeader on_chunk;
  bool chunk_line_too_long = false;
  bool header_checked = false;
  bool expect_continue = false;
  bool complete = false;
  bool failed = false;
  std::string authority; // of an absolute-form target
  std::string target;
  ParseError error;

  explicit Impl(Limits l) : limits(l) {
    on_chunk = [this](std::uint64_t, beast::string_view extensions, beast::error_code &ec) {
      if (extensions.size() > limits.max_chunk_line) {
        chunk_line_too_long = true;
        ec = bhttp::error::bad_chunk_extension;
      }
    };
  }

  void start() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser->body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
    parser->eager(true);
    parser->on_chunk_header(on_chunk);
  }

  State fail(int status, std::string message) {
    failed = true;
    error = {status, std::move(message)};
    return State::Failed;
  }

  // `version_claimed`: the request line ends in "HTTP/<digit>.<digit>", just not 1.0 or 1.1.
  State fail(const beast::error_code &ec, bool version_claimed = false) {
    if (chunk_line_too_long)
      return fail(400, "chunk line too long");
    if (ec == bhttp::error::header_limit)
      return fail(431, "header section too large");
    if (ec == bhttp::error::body_limit)
      return fail(413, "body too large");
    if (ec == bhttp::error::bad_line_ending)
      return fail(400, "malformed request: lines must end with CRLF");
    if (ec == bhttp::error::bad_version && version_claimed)
      return fail(505, "HTTP version not supported");
    if (ec == bhttp::error::bad_transfer_encoding)
      return fail(400, "malformed request: Transfer-Encoding repeated or with Content-Length");
    return fail(400, "malformed request: " + ec.message());
  }

  // The rules on a complete header section that Beast leaves to the application.
  std::optional<ParseError> check_header() {
    const auto &m = parser->get();
    unsigned version = m.version();
    if (version != 10 && version != 11)
      return ParseError{505, "HTTP version not supported"};
    std::size_t count = 0;
    std::size_t hosts = 0, auths = 0, origins = 0;
    for (const auto &f : m) {
      ++count;
      std::string_view name(f.name_string().data(), f.name_string().size());
      hosts += iequals(name, "Host");
      auths += iequals(name, "Authorization");
      origins += iequals(name, "Origin");
    }
    if (count > limits.max_headers)
      return ParseError{431, "too many header fields"};
    if (hosts == 0 && version == 11)
      return ParseError{400, "a Host header is required"};
    if (hosts > 1)
      return ParseError{400, "duplicate Host header"};
    if (auths > 1)
      return ParseError{400, "duplicate Authorization header"};
    if (origins > 1)
      return ParseError{400, "duplicate Origin header"};
    std::string_view t(m.target().data(), m.target().size());
    authority.clear();
    if (!t.empty() && t.front() == '/') {
      target = std::string(t);
    } else if (t == "*" && m.method() == bhttp::verb::options) {
      target = "*";
    } else if (starts_with_icase(t, "http://") || starts_with_icase(t, "https://")) {
      std::string_view rest = t.substr(t.find("//") + 2);
      std::size_t slash = rest.find_first_of("/?");
      authority = std::string(rest.substr(0, slash));
      if (authority.empty() || authority.find('@') != std::string::npos)
        return ParseError{400, "malformed request target"};
      target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
      if (target.front() == '?')
        target.insert(0, "/");
    } else {
      return ParseError{400, "malformed request target"};
    }
    // RFC 9112 §6.3: Beast frames a request whose codings do not end in chunked as having no
    // body, and ignores codings before chunked. Only "chunked" alone is served.
    if (auto te = m.find(bhttp::field::transfer_encoding); te != m.end()) {
      std::string_view v(te->value().data(), te->value().size());
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
      if (!iequals(v, "chunked"))
        return ParseError{501, "transfer coding not supported (only chunked)"};
    }
    auto expect = m.find(bhttp::field::expect);
    expect_continue = version == 11 && expect != m.end() &&
                      iequals(std::string_view(expect->value().data(), expect->value().size()), "100-continue");
    return std::nullopt;
  }

  State feed(std::string_view data, std::size_t &consumed) {
    consumed = 0;
    if (failed)
      return State::Failed;
    if (complete)
      return State::Complete;
    if (!parser) {
      if (data.empty())
        return State::NeedMore;
      start();
    }
    while (consumed < data.size() && !parser->is_done()) {
      beast::error_code ec;
      std::size_t n = parser->put(asio::buffer(data.data() + consumed, data.size() - consumed), ec);
      consumed += n;
      if (ec == bhttp::error::need_more)
        break;
      if (ec) {
        std::string_view line = data.substr(0, data.find("\r\n"));
        std::size_t at = line.rfind(" HTTP/");
        bool claimed = at != std::string_view::npos && line.size() == at + 9 &&
                       std::isdigit(static_cast<unsigned char>(line[at + 6])) && line[at + 7] == '.' &&
                       std::isdigit(static_cast<unsigned char>(line[at + 8]));
        return fail(ec, claimed);
      }
      if (parser->is_header_done() && !header_checked) {
        header_checked = true;
        if (auto e = check_header())
          return fail(e->status, std::move(e->message));
      }
      if (n == 0)
        break;
    }
    if (parser->is_done()) {
      complete = true;
      return State::Complete;
    }
    std::string_view rest = data.substr(consumed);
    if (!parser->is_header_done()) {
      if (has_bare_lf(rest))
        return fail(400, "malformed request: lines must end with CRLF");
      if (rest.size() > limits.max_header_bytes)
        return fail(431, "header section too large");
    } else if (parser->chunked() && rest.size() > limits.max_chunk_line + 2) {
      // Beast waits for the end of a chunk line, or of the trailer section after the last chunk.
      std::size_t eol = rest.find("\r\n");
      if (eol == std::string_view::npos || eol > limits.max_chunk_line)
        return fail(400, "chunk line too long");
      if (rest.size() > limits.max_header_bytes)
        return fail(431, "trailer section too large");
    }
    return State::NeedMore;
  }

  Request take() {
    Request r;
    auto message = parser->release();
    r.method = std::string(message.method_string());
    r.target = std::move(target);
    std::size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
    r.minor_version = message.version() == 10 ? 0 : 1;
    for (const auto &f : message) {
      std::string name(f.name_string());
      // RFC 9112 §3.2.2: an absolute-form target's authority replaces the Host header.
      if (!authority.empty() && iequals(name, "Host"))
        r.headers.push_back({std::move(name), authority});
      else
        r.headers.push_back({std::move(name), std::string(f.value())});
    }
    if (!authority.empty() && r.header("Host") == nullptr)
      r.headers.push_back({"Host", authority});
    r.body = std::move(message.body());
    reset();
    return r;
  }

  void reset() {
    parser.reset();
    chunk_line_too_long = header_checked = expect_continue = complete = failed = false;
    authority.clear();
    target.clear();
    error = {};
  }
};

RequestReader::RequestReader(Limits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestReader::~RequestReader() = default;
RequestReader::RequestReader(RequestReader &&) noexcept = default;
RequestReader &RequestReader::operator=(RequestReader &&) noexcept = default;
RequestReader::State RequestReader::feed(std::string_view data, std::size_t &consumed) {
  return impl_->feed(data, consumed);
}
Request RequestReader::take() { return impl_->take(); }
const ParseError &RequestReader::error() const { return impl_->error; }
bool RequestReader::headers_done() const { return impl_->header_checked; }
bool RequestReader::expects_continue() const { return impl_->expect_continue; }
bool RequestReader::started() const { return impl_->parser.has_value(); }
void RequestReader::reset() { impl_->reset(); }

// --- the server -----------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size);
  out.append(data);
  out += "\r\n";
  return out;
}

Response plain_error(int status, std::string message) {
  Response r;
  r.status = status;
  r.set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(message) + "\n";
  r.close = true;
  return r;
}

enum class Phase { Reading, Dispatched, Writing, Closed };

struct Connection {
  explicit Connection(tcp::socket s, const Limits &limits)
      : socket(std::move(s)), reader(limits) {}
  tcp::socket socket;
  // This phase's deadline (max while a handler runs); one server timer sweeps them all, so a
  // request costs no timer system calls.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  RequestReader reader;
  std::string in;                // received, not yet parsed
  std::deque<std::string> out;   // to send, in order
  bool writing = false;
  Phase phase = Phase::Reading;
  bool reading = false;          // a wait for readable is pending
  bool in_request = false;       // bytes of a request have arrived
  bool sent_continue = false;
  bool close_after_write = false;
  bool streaming = false;        // a handler's streamed response is going out
  bool finished = false;         // the whole response is queued
  bool head = false;             // answering HEAD: no body
  std::string remote;
  std::string address;
  std::shared_ptr<CancelToken> cancel;
  std::shared_ptr<std::atomic<bool>> gone;
};

using ConnPtr = std::shared_ptr<Connection>;

struct Task {
  ConnPtr conn;
  Request request;
};

} // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_pause{ioc};
  asio::steady_timer shutdown_timer{ioc};
  asio::steady_timer sweep_timer{ioc}; // every 250 ms: the connections' deadlines
  std::optional<asio::signal_set> signals;
  std::unordered_set<ConnPtr> connections;
  std::map<std::string, std::size_t> per_address;
  std::array<char, 64 * 1024> scratch{}; // the io thread's read buffer
  bool stopping = false;                  // io thread only
  std::uint64_t accept_errors = 0;
  Clock::time_point last_accept_log{};

  std::mutex mutex; // guards tasks, workers_stop, counters
  std::condition_variable work_ready;
  std::deque<Task> tasks;
  bool workers_stop = false;
  std::vector<std::thread> workers;
  ServerStats counters;

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  // --- workers ------------------------------------------------------------------------------

  class Stream final : public ResponseStream {
  public:
    Stream(Impl &impl, ConnPtr conn) : impl_(impl), conn_(std::move(conn)), gone_(conn_->gone) {}
    bool begin(int status, const std::vector<Header> &headers) override {
      if (started_ || *gone_)
        return false;
      std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
      for (const Header &h : headers)
        head += h.name + ": " + h.value + "\r\n";
      head += "Transfer-Encoding: chunked\r\n\r\n";
      started_ = true;
      push(std::move(head));
      return true;
    }
    bool write(std::string_view data) override {
      if (!started_ || *gone_)
        return false;
      if (!data.empty())
        push(chunk(data));
      return true;
    }
    bool started() const override { return started_; }

  private:
    void push(std::string bytes) {
      asio::post(impl_.ioc, [&impl = impl_, conn = conn_, bytes = std::move(bytes)]() mutable {
        if (conn->phase != Phase::Dispatched)
          return;
        conn->streaming = true;
        impl.send(conn, std::move(bytes));
      });
    }
    Impl &impl_;
    ConnPtr conn_;
    std::shared_ptr<std::atomic<bool>> gone_;
    bool started_ = false;
  };

  void start_workers() {
    for (std::size_t i = 0; i < options.workers; ++i)
      workers.emplace_back([this] { work(); });
  }

  void work() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return workers_stop || !tasks.empty(); });
        if (tasks.empty())
          return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      Response response;
      {
        Stream stream(*this, task.conn);
        try {
          response = handler(task.request, *task.conn->cancel, stream);
        } catch (const std::exception &e) {
          spdlog::error("http: handler failed: {}", e.what());
          response = plain_error(500, "internal error");
        }
      }
      bool keep_alive = task.request.keep_alive() && !response.close;
      asio::post(ioc, [this, conn = std::move(task.conn), response = std::move(response), keep_alive]() mutable {
        if (conn->phase == Phase::Dispatched)
          respond(conn, response, keep_alive);
      });
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex);
      workers_stop = true;
    }
    work_ready.notify_all();
    for (std::thread &t : workers)
      if (t.joinable())
        t.join();
    workers.clear();
  }

  // --- connections (io thread) ---------------------------------------------------------------

  static void arm_timer(const ConnPtr &c, std::chrono::milliseconds after) { c->deadline = Clock::now() + after; }
  static void disarm_timer(const ConnPtr &c) { c->deadline = Clock::time_point::max(); }

  void sweep() {
    sweep_timer.expires_after(std::chrono::milliseconds(250));
    sweep_timer.async_wait([this](const boost::system::error_code &ec) {
      if (ec)
        return;
      auto now = Clock::now();
      std::vector<ConnPtr> expired;
      for (const ConnPtr &c : connections)
        if (c->deadline <= now && c->phase != Phase::Dispatched)
          expired.push_back(c);
      for (const ConnPtr &c : expired)
        if (c->phase != Phase::Closed)
          on_deadline(c);
      sweep();
    });
  }

  void on_deadline(const ConnPtr &c) {
    {
      std::lock_guard lock(mutex);
      ++counters.timed_out;
    }
    if (c->phase == Phase::Reading && c->in_request)
      respond(c, plain_error(408, "request not received in time"), false);
    else
      close(c);
  }

  void close(const ConnPtr &c) {
    if (c->phase == Phase::Closed)
      return;
    if (c->gone)
      *c->gone = true;
    if (c->cancel && c->phase == Phase::Dispatched)
      c->cancel->cancel(); // the client is gone: stop waiting on its behalf
    c->phase = Phase::Closed;
    boost::system::error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
    if (auto it = per_address.find(c->address); it != per_address.end() && --it->second == 0)
      per_address.erase(it);
    connections.erase(c);
    {
      std::lock_guard lock(mutex);
      --counters.open_connections;
    }
    maybe_finish();
  }

  void maybe_finish() {
    if (stopping && connections.empty()) {
      shutdown_timer.cancel();
      sweep_timer.cancel();
      ioc.stop();
    }
  }

  // A best-effort refusal on a connection we will not serve (the socket buffer takes it).
  void refuse(tcp::socket &s, int status, const std::string &message) {
    std::string bytes = serialize(plain_error(status, message));
    boost::system::error_code ignored;
    s.non_blocking(true, ignored);
    s.send(asio::buffer(bytes), 0, ignored);
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
    std::lock_guard lock(mutex);
    ++counters.rejected_busy;
  }

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code &ec, tcp::socket s) {
      if (stopping || !acceptor.is_open())
        return;
      if (ec) {
        on_accept_error(ec);
        return;
      }
      admit(std::move(s));
      accept();
    });
  }

  // Out of descriptors (or memory): pause accepting for a moment instead of spinning, and say so
  // at most once every 10 s. Clients wait in the listen backlog meanwhile.
  void on_accept_error(const boost::system::error_code &ec) {
    ++accept_errors;
    {
      std::lock_guard lock(mutex);
      ++counters.accept_failures;
    }
    auto now = Clock::now();
    if (now - last_accept_log > std::chrono::seconds(10)) {
      spdlog::warn("http: accept failed: {} ({} time(s)); pausing accepts briefly", ec.message(),
                   accept_errors);
      last_accept_log = now;
      accept_errors = 0;
    }
    accept_pause.expires_after(std::chrono::milliseconds(100));
    accept_pause.async_wait([this](const boost::system::error_code &e) {
      if (!e && !stopping)
        accept();
    });
  }

  void admit(tcp::socket s) {
    boost::system::error_code ec;
    tcp::endpoint peer = s.remote_endpoint(ec);
    if (ec) {
      s.close(ec);
      return;
    }
    std::string address = peer.address().to_string();
    if (connections.size() >= options.max_connections) {
      refuse(s, 503, "too many connections");
      return;
    }
    if (options.max_connections_per_address > 0 && per_address[address] >= options.max_connections_per_address) {
      if (per_address[address] == 0)
        per_address.erase(address);
      spdlog::warn("http: refused a connection from {}: it holds {} already (http.maxConnectionsPerAddress)",
                   address, options.max_connections_per_address);
      refuse(s, 503, "too many connections from your address");
      return;
    }
    s.set_option(tcp::no_delay(true), ec);
    s.non_blocking(true, ec);
    auto c = std::make_shared<Connection>(std::move(s), options.limits);
    c->address = address;
    c->remote = peer.address().is_v6() ? "[" + address + "]:" + std::to_string(peer.port())
                                       : address + ":" + std::to_string(peer.port());
    ++per_address[address];
    connections.insert(c);
    {
      std::lock_guard lock(mutex);
      ++counters.connections_accepted;
      ++counters.open_connections;
    }
    arm_timer(c, options.idle_timeout);
    wait_readable(c);
  }

  void wait_readable(const ConnPtr &c) {
    if (c->reading || c->phase == Phase::Closed)
      return;
    c->reading = true;
    c->socket.async_wait(tcp::socket::wait_read, [this, c](const boost::system::error_code &ec) {
      c->reading = false;
      if (c->phase == Phase::Closed)
        return;
      if (ec) {
        close(c);
        return;
      }
      on_readable(c);
    });
  }

  // Reads what is there (bounded rounds, so one client cannot starve the others).
  void on_readable(const ConnPtr &c) {
    bool eof = false;
    for (int round = 0; round < 4; ++round) {
      boost::system::error_code ec;
      std::size_t n = c->socket.read_some(asio::buffer(scratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        break;
      if (ec == asio::error::interrupted)
        continue;
      if (ec) {
        eof = true;
        break;
      }
      c->in.append(scratch.data(), n);
      if (n < scratch.size())
        break;
    }
    if (c->phase == Phase::Dispatched || c->phase == Phase::Writing) {
      // A handler runs or a response goes out: only a hang-up matters now (it cancels a running
      // handler; a response already being written still goes out to a half-closed client).
      // Pipelined bytes wait, and beyond a cap stop being read until the response is out.
      if (eof) {
        if (c->phase == Phase::Dispatched)
          close(c);
        else
          c->close_after_write = true;
        return;
      }
      if (c->in.size() <= options.limits.max_header_bytes + 64 * 1024)
        wait_readable(c);
      return;
    }
    if (eof && c->in.empty()) {
      close(c);
      return;
    }
    process(c);
    if (eof && c->phase == Phase::Reading)
      close(c); // the client sent a partial request and left
  }

  void process(const ConnPtr &c) {
    if (!c->in_request && !c->in.empty()) {
      c->in_request = true;
      arm_timer(c, options.header_timeout);
    }
    bool had_headers = c->reader.headers_done();
    std::size_t used = 0;
    RequestReader::State state = c->reader.feed(c->in, used);
    c->in.erase(0, used);
    if (state == RequestReader::State::Failed) {
      const ParseError &e = c->reader.error();
      respond(c, plain_error(e.status, e.message), false);
      return;
    }
    if (state == RequestReader::State::NeedMore) {
      if (!had_headers && c->reader.headers_done()) {
        arm_timer(c, options.body_timeout);
        if (c->reader.expects_continue() && !c->sent_continue) {
          c->sent_continue = true;
          send(c, "HTTP/1.1 100 Continue\r\n\r\n");
        }
      }
      wait_readable(c);
      return;
    }
    Request request = c->reader.take();
    request.remote = c->remote;
    c->head = request.method == "HEAD";
    if (c->in.empty() && c->in.capacity() > 64 * 1024)
      std::string().swap(c->in);
    bool busy = false;
    {
      std::lock_guard lock(mutex);
      ++counters.requests;
      busy = tasks.size() >= options.max_queue;
      if (busy) {
        ++counters.rejected_busy;
      } else {
        c->phase = Phase::Dispatched;
        c->cancel = std::make_shared<CancelToken>();
        c->gone = std::make_shared<std::atomic<bool>>(false);
        tasks.push_back({c, std::move(request)});
      }
    }
    if (busy) {
      Response r = plain_error(503, "server busy; retry shortly");
      r.set("Retry-After", "1");
      respond(c, r, false);
      return;
    }
    disarm_timer(c);
    work_ready.notify_one();
    wait_readable(c); // notices a hang-up while the handler runs
  }

  void respond(const ConnPtr &c, const Response &response, bool keep_alive) {
    c->close_after_write = !keep_alive || response.close || stopping;
    c->finished = true;
    if (c->streaming) { // the head went out already: the body is the last chunk, then the end
      std::string tail;
      if (!response.body.empty())
        tail = chunk(response.body);
      tail += "0\r\n\r\n";
      c->streaming = false;
      c->phase = Phase::Writing;
      send(c, std::move(tail));
      return;
    }
    c->phase = Phase::Writing;
    if (c->close_after_write && !response.close) {
      Response copy = response;
      copy.close = true;
      send(c, serialize(copy, c->head));
    } else {
      send(c, serialize(response, c->head));
    }
  }

  void send(const ConnPtr &c, std::string bytes) {
    c->out.push_back(std::move(bytes));
    if (c->phase == Phase::Writing)
      arm_timer(c, options.write_timeout);
    if (!c->writing)
      write_next(c);
  }

  void write_next(const ConnPtr &c) {
    // Most answers fit the socket buffer: write them now, and wait for the reactor only when
    // the client does not keep up.
    while (!c->out.empty()) {
      boost::system::error_code ec;
      std::size_t n = c->socket.write_some(asio::buffer(c->out.front()), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::interrupted)
        break;
      if (ec) {
        close(c);
        return;
      }
      if (n < c->out.front().size()) {
        c->out.front().erase(0, n);
        break;
      }
      c->out.pop_front();
    }
    if (c->out.empty()) {
      c->writing = false;
      if (c->phase == Phase::Writing && c->finished)
        written(c);
      return;
    }
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(c->out.front()),
                      [this, c](const boost::system::error_code &ec, std::size_t) {
                        if (c->phase == Phase::Closed)
                          return;
                        if (ec) {
                          close(c);
                          return;
                        }
                        c->out.pop_front();
                        write_next(c);
                      });
  }

  // The whole response is out: close, or go back to reading the next request.
  void written(const ConnPtr &c) {
    if (c->close_after_write) {
      close(c);
      return;
    }
    c->phase = Phase::Reading;
    c->finished = false;
    c->in_request = false;
    c->sent_continue = false;
    c->head = false;
    c->cancel.reset();
    c->gone.reset();
    arm_timer(c, options.idle_timeout);
    if (!c->in.empty())
      process(c); // a pipelined request is already here
    else
      wait_readable(c);
  }

  // --- lifecycle ----------------------------------------------------------------------------

  void begin_shutdown() {
    if (stopping)
      return;
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    accept_pause.cancel();
    if (signals)
      signals->cancel(ignored);
    std::vector<ConnPtr> idle;
    for (const ConnPtr &c : connections)
      if (c->phase == Phase::Reading)
        idle.push_back(c);
    for (const ConnPtr &c : idle)
      close(c);
    spdlog::info("http: stopping: accepting no more connections; finishing {} request(s) in flight",
                 connections.size());
    if (connections.empty()) {
      ioc.stop();
      return;
    }
    shutdown_timer.expires_after(options.shutdown_grace);
    shutdown_timer.async_wait([this](const boost::system::error_code &ec) {
      if (ec)
        return;
      spdlog::warn("http: {} connection(s) still busy after the shutdown grace period; closing",
                   connections.size());
      std::vector<ConnPtr> all(connections.begin(), connections.end());
      for (const ConnPtr &c : all)
        close(c);
      ioc.stop();
    });
  }
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  impl_->stop_workers();
  // Connections hold handlers bound to the io_context: drop them before it goes.
  for (const auto &c : impl_->connections) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }
  impl_->connections.clear();
}

Expected<int, std::string> Server::listen() {
  Impl &m = *impl_;
  boost::system::error_code ec;
  tcp::resolver resolver(m.ioc);
  auto found = resolver.resolve(m.options.host, std::to_string(m.options.port),
                                tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec)
    return unexpected("cannot resolve '" + m.options.host + "': " + ec.message());
  std::string why = "no address";
  for (const auto &entry : found) {
    tcp::acceptor a(m.ioc);
    if (a.open(entry.endpoint().protocol(), ec) || a.set_option(tcp::acceptor::reuse_address(true), ec) ||
        a.bind(entry.endpoint(), ec) || a.listen(1024, ec)) {
      why = ec.message();
      continue;
    }
    m.acceptor = std::move(a);
    break;
  }
  if (!m.acceptor.is_open())
    return unexpected("cannot listen on " + m.options.host + ":" + std::to_string(m.options.port) + ": " + why);
  if (m.options.stop_on_signals) {
    m.signals.emplace(m.ioc, SIGINT, SIGTERM);
#ifdef SIGHUP
    m.signals->add(SIGHUP, ec);
#endif
    m.signals->async_wait([&m](const boost::system::error_code &e, int signal) {
      if (e)
        return;
      spdlog::info("http: signal {} received", signal);
      m.begin_shutdown();
    });
  }
  return static_cast<int>(m.acceptor.local_endpoint().port());
}

void Server::run() {
  Impl &m = *impl_;
  m.start_workers();
  asio::post(m.ioc, [&m] {
    if (!m.stopping) {
      m.accept();
      m.sweep();
    }
  });
  m.ioc.run();
  m.stop_workers();
}

void Server::stop() {
  asio::post(impl_->ioc, [&m = *impl_] { m.begin_shutdown(); });
}

ServerStats Server::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

} // namespace dfmcp::http
