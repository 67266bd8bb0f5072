// A small HTTP/1.1 server on Boost.Asio: one io thread (Asio's reactor) reads requests through
// RequestReader (Boost.Beast's parser) and writes responses for every connection, and a fixed pool
// of workers runs the handler on complete requests. An idle or slow client costs a socket and a
// small buffer, never a thread; every phase of a request has a deadline (idle keep-alive, header
// section, body, response write: Asio timers), and sizes are capped by the reader's limits.
// Portable: no system calls beyond Asio's own (epoll, kqueue or IOCP underneath).
#pragma once

#include "http/message.hpp"
#include "http/request_reader.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace dfmcp::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0; // 0: an ephemeral port
  Limits limits;
  std::size_t workers = 16;          // handlers running at once
  std::size_t max_queue = 1024;      // complete requests waiting for a worker; beyond: 503
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_address = 0; // 0: no cap
  std::chrono::milliseconds idle_timeout{30000};   // kept-alive connection between requests
  std::chrono::milliseconds header_timeout{10000}; // first byte of a request to its last header
  std::chrono::milliseconds body_timeout{30000};   // last header to the end of the body
  std::chrono::milliseconds write_timeout{30000};  // a client that does not read its response
  std::chrono::milliseconds shutdown_grace{20000}; // in-flight requests get this long after stop()
  bool stop_on_signals = false; // SIGTERM, SIGINT (and SIGHUP) stop the server, via asio::signal_set
};

// Lets a handler send its response progressively (Server-Sent Events) while it still runs. After
// begin(), each write() goes out at once as one chunk (chunked transfer coding), and the body of
// the Response the handler finally returns is the last chunk; its status and headers are ignored.
class ResponseStream {
public:
  virtual ~ResponseStream() = default;
  // Sends the status line and headers. Returns false when the client is gone.
  virtual bool begin(int status, const std::vector<Header> &headers) = 0;
  virtual bool write(std::string_view data) = 0;
  virtual bool started() const = 0;
};

// Runs on a worker thread for each complete request. `cancel` fires when the client disconnects
// before the response is written.
using Handler = std::function<Response(const Request &request, CancelToken &cancel, ResponseStream &stream)>;

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t open_connections = 0;
  std::uint64_t rejected_busy = 0;    // 503: queue or connection limit
  std::uint64_t timed_out = 0;        // connections closed by a deadline
  std::uint64_t accept_failures = 0;  // accept errors (out of descriptors): each pauses accepting
};

class Server {
public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  // Binds and listens (and, with stop_on_signals, starts watching the signals); returns the
  // port, or why it could not.
  Expected<int, std::string> listen();
  // Serves until stop() (or a signal): then stops accepting, closes idle connections, lets
  // in-flight requests finish within the grace period, joins the workers, and returns.
  void run();
  // Thread-safe. run() returns once in-flight work is done.
  void stop();

  ServerStats stats() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dfmcp::http
