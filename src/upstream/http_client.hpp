// The HTTPS client for DataFast: certificate and host name verification always on (system store,
// a CA file, or an in-memory store), a small pool of kept-alive connections (one TLS handshake per
// connection, not per call), a hard deadline per request, a response size cap, cancellation, and
// the bearer token sent only to the configured origin (redirects are never followed).
#pragma once

#include "secret.hpp"
#include "upstream/errors.hpp"
#include "util/cancel.hpp"
#include "util/expected.hpp"
#include "util/url.hpp"

#include <openssl/x509.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dfmcp::upstream {

// Which certificate authorities to trust.
struct Trust {
  std::optional<std::string> ca_file;      // a PEM file; when unset, the system store
  std::function<X509_STORE *()> make_store; // overrides both: an in-memory store (the sandbox)
};

struct ClientConfig {
  HttpsUrl url;
  Secret token;
  Trust trust;
  std::chrono::milliseconds timeout{15000};
  std::size_t max_response_bytes = 4u * 1024 * 1024;
  std::size_t max_connections = 4;
  // A kept-alive connection idle longer than this is replaced before a non-idempotent request,
  // because the server may have closed it and a POST must never be sent twice.
  std::chrono::milliseconds stale_after{4000};
  // GET and DELETE are retried on 429, 502, 503, 504 and connection failures, within the
  // deadline: capped exponential backoff with jitter, or Retry-After when longer. Never a POST.
  int max_retries = 3;
  std::chrono::milliseconds retry_base{250};
  std::chrono::milliseconds retry_cap{2000};
};

enum class Method { Get, Post, Delete };

struct HttpReply {
  int status = 0;
  std::string body;
  std::string retry_after;
  int attempts = 1;
};

class HttpClient {
public:
  explicit HttpClient(ClientConfig config);
  ~HttpClient();
  HttpClient(const HttpClient &) = delete;
  HttpClient &operator=(const HttpClient &) = delete;

  // Sends one request to base_path + `path`. A 2xx answer is a value; any other status, transport
  // failure, timeout or cancellation is an UpstreamError (with DataFast's envelope message, if any).
  // `deadline`, when set and earlier, cuts the request (and its retries) short of the timeout.
  Expected<HttpReply, UpstreamError> request(Method method, const std::string &path,
                                             const std::string &body, CancelToken *cancel,
                                             std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  const ClientConfig &config() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks that OpenSSL loads certificates from a CA file; returns the problem, if any. This
// initialises OpenSSL's decoders (milliseconds), so `check` uses it and serving does not.
std::optional<std::string> ca_file_problem(const std::string &path);

// A cheap look for start-up: the file is readable and holds at least one PEM CERTIFICATE block
// whose body is base64 of a DER structure. What it lets through and OpenSSL still rejects is
// reported by the first upstream request (and by `check`).
std::optional<std::string> ca_file_quick_problem(const std::string &path);

} // namespace dfmcp::upstream
