// The sandbox upstream: an HTTPS server on loopback serving a sandbox::Account under
// /api/v1/admin, with a certificate made at start-up by a throwaway CA that only its creator trusts.
// `datafast-mcp --sandbox` runs against it; the tests use it as their DataFast, with fault injection
// and a log of every request it received.
#pragma once

#include "sandbox/account.hpp"
#include "secret.hpp"
#include "tls/certs.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dfmcp::sandbox {

struct Fault {
  enum class Kind {
    Status,     // reply `status` with DataFast's error envelope (and Retry-After when set)
    Delay,      // wait `delay`, then serve normally
    Hang,       // never answer (until release_hangs() or stop())
    Garbage,    // 200 with a body that is not JSON
    Truncated,  // 200 with JSON cut in the middle
    WrongShape, // 200 with valid JSON of the wrong shape ({"status":"success","data":{}})
    HugeBody,   // 200 with a body of `size` bytes
    Reset,      // close the connection without an answer
    LoseAnswer, // serve the request for real (the account changes), then cut the answer mid-body
    Trickle,    // 200 with a valid body sent one byte per `delay` (a slow peer)
  };
  Kind kind = Kind::Status;
  std::string method; // "GET", "POST", "DELETE"; "" matches any
  std::string path;   // a path under the API base ("/websites", "/access-tokens"); "" matches any
  int status = 500;
  std::string retry_after;               // Retry-After header value for Kind::Status, if not empty
  std::chrono::milliseconds delay{0};    // Kind::Delay
  std::size_t size = 50u * 1024 * 1024;  // Kind::HugeBody
  std::size_t times = 1;                 // how many matching requests it applies to

  static Fault of(Kind kind, std::string method = "") {
    Fault f;
    f.kind = kind;
    f.method = std::move(method);
    return f;
  }
  static Fault http_status(int status, std::string method = "", std::string retry_after = "") {
    Fault f = of(Kind::Status, std::move(method));
    f.status = status;
    f.retry_after = std::move(retry_after);
    return f;
  }
  static Fault delayed(std::chrono::milliseconds delay, std::string method = "") {
    Fault f = of(Kind::Delay, std::move(method));
    f.delay = delay;
    return f;
  }
  // The same fault, limited to one path ("/websites").
  Fault at(std::string p) && {
    path = std::move(p);
    return std::move(*this);
  }
};

struct RecordedRequest {
  std::string method;
  std::string path;   // full path, e.g. /api/v1/admin/access-tokens
  std::string body;
  bool authorized = false; // carried the bearer key of a live token
  int status = 0;          // what the sandbox answered (0 for a fault without an answer)
};

class Sandbox {
public:
  struct Options {
    std::string host = "127.0.0.1";
    std::string base_path = "/api/v1/admin";
    tls::LeafOptions leaf;
    // Serve a certificate from a different CA than the one ca_pem()/new_trust_store() trust
    // (the "wrong certificate" fault).
    bool untrusted_certificate = false;
    int keep_alive_timeout_s = 60;
    int port = 0; // 0: an ephemeral port
  };

  // Starts serving on host:port (port 0: an ephemeral one) and returns once the server accepts requests.
  // Throws std::runtime_error when it cannot.
  static std::unique_ptr<Sandbox> start(Options options);
  static std::unique_ptr<Sandbox> start() { return start(Options{}); }
  ~Sandbox(); // stops the server and joins its thread

  Sandbox(const Sandbox &) = delete;
  Sandbox &operator=(const Sandbox &) = delete;

  int port() const;
  std::string base_url() const; // https://127.0.0.1:<port>/api/v1/admin
  std::string ca_pem() const;
  X509_STORE *new_trust_store() const; // trusts the sandbox CA only; caller owns
  Secret parent_token() const;

  void inject(Fault fault);
  void clear_faults();
  void release_hangs(); // lets every hanging request return (with a 503)

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // Blocks until at least `n` requests have arrived or `guard` passed; returns whether they arrived.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds guard) const;
  long tls_handshakes() const; // TLS handshakes accepted so far

  // Runs `f` on the account under the sandbox lock (inspection and set-up in tests).
  void with_account(const std::function<void(Account &)> &f);

  void stop();

private:
  Sandbox() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dfmcp::sandbox
