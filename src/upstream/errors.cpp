#include "upstream/errors.hpp"

#include "secret.hpp"

namespace dfmcp::upstream {

std::string sanitize_detail(std::string_view text, std::size_t limit) {
  std::string scrubbed = scrub_secrets(text);
  std::string out;
  for (char c : scrubbed) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F)
      c = ' ';
    out.push_back(c);
  }
  if (out.size() > limit) {
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
      --cut; // do not split a UTF-8 sequence
    out.resize(cut);
    out += "...";
  }
  return out;
}

namespace {
std::string describe_unscrubbed(const UpstreamError &e, std::string_view operation, bool write) {
  std::string op(operation);
  std::string status = e.status ? "HTTP " + std::to_string(e.status) : std::string();
  std::string quoted = status;
  if (!e.detail.empty())
    quoted += (quoted.empty() ? "" : ": ") + e.detail;
  std::string paren = quoted.empty() ? "" : " (" + quoted + ")";
  std::string unknown_outcome =
      write ? " It is not known whether DataFast applied the change: check list_access_tokens before "
              "retrying."
            : "";

  switch (e.kind) {
  case ErrorKind::Unauthorized:
    return op + ": DataFast rejected this server's own token" + paren +
           ". The parent token is missing, revoked or invalid; whoever runs the server must set a "
           "valid dft_ account token. Nothing was changed.";
  case ErrorKind::Forbidden:
    return op + ": DataFast refused" + paren +
           ". This server's own token lacks a permission or website access the request needs "
           "(listing needs api-keys:read; creating and revoking need api-keys:write, and a new "
           "token cannot exceed the parent's own scope). Nothing was changed.";
  case ErrorKind::NotFound:
    return op + ": DataFast found no such token" + paren +
           " (a token can only be revoked by the user who created it). Nothing was changed.";
  case ErrorKind::BadRequest:
    return op + ": DataFast rejected the request" + paren + ". Nothing was changed.";
  case ErrorKind::RateLimited:
    return op + ": DataFast is rate-limiting this server" + paren +
           (e.retry_after.empty() ? "; wait a little" : "; retry after " + e.retry_after + " s") +
           " before trying again. Nothing was changed.";
  case ErrorKind::ServerError:
    return op + ": DataFast failed" + paren + "; try again later." + unknown_outcome;
  case ErrorKind::UnexpectedStatus:
    return op + ": DataFast answered unexpectedly" + paren + "." + unknown_outcome;
  case ErrorKind::Timeout:
    return op + ": DataFast did not answer in time" + paren + "." +
           (e.request_sent ? unknown_outcome : " Nothing was sent.");
  case ErrorKind::Tls:
    return op + ": could not establish a trusted TLS connection to DataFast" + paren +
           ". Nothing was sent; check the upstream URL and CA file.";
  case ErrorKind::Connection:
    return op + ": could not reach DataFast" + paren + "." +
           (e.request_sent ? unknown_outcome : " Nothing was sent.");
  case ErrorKind::BadResponse:
    return op + ": DataFast's answer could not be read" + paren + "." + unknown_outcome;
  case ErrorKind::Cancelled:
    return op + ": cancelled." + (e.request_sent ? unknown_outcome : " Nothing was sent.");
  }
  return op + ": upstream failure" + paren;
}
} // namespace

std::string describe(const UpstreamError &error, std::string_view operation, bool write) {
  return scrub_secrets(describe_unscrubbed(error, operation, write));
}

} // namespace dfmcp::upstream
