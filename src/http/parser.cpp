#include "http/parser.hpp"

#include <algorithm>
#include <charconv>

namespace dfmcp::http {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

RequestParser::State RequestParser::fail(int status, std::string message) {
  error_ = {status, std::move(message)};
  return State::Failed;
}

void RequestParser::reset() {
  phase_ = Phase::Headers;
  request_ = Request{};
  content_length_ = 0;
  chunk_left_ = 0;
  expect_continue_ = false;
  error_ = {};
}

Request RequestParser::take() {
  Request out = std::move(request_);
  reset();
  return out;
}

RequestParser::State RequestParser::parse_head(std::string_view head) {
  std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);

  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method))
    return fail(400, "malformed method");
  if (target.empty() || (target.front() != '/' && target != "*") ||
      std::any_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F;
      }))
    return fail(400, "malformed request target");
  if (version == "HTTP/1.1")
    request_.minor_version = 1;
  else if (version == "HTTP/1.0")
    request_.minor_version = 0;
  else if (version.starts_with("HTTP/"))
    return fail(505, "only HTTP/1.1 is supported");
  else
    return fail(400, "malformed HTTP version");
  request_.method = std::string(method);
  request_.target = std::string(target);
  std::size_t q = target.find('?');
  request_.path = std::string(target.substr(0, q));
  request_.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));

  while (!rest.empty()) {
    std::size_t end = rest.find("\r\n");
    std::string_view h = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    if (h.empty())
      continue;
    if (h.front() == ' ' || h.front() == '\t')
      return fail(400, "folded header lines are not accepted");
    std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || !is_token(h.substr(0, colon)))
      return fail(400, "malformed header line");
    std::string_view value = trim(h.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return (u < 0x20 && c != '\t') || u == 0x7F;
        }))
      return fail(400, "control character in a header value");
    if (request_.headers.size() >= limits_.max_headers)
      return fail(431, "too many header fields");
    request_.headers.push_back({std::string(h.substr(0, colon)), std::string(value)});
  }

  if (request_.minor_version == 1 && request_.header_count("Host") != 1)
    return fail(400, "exactly one Host header is required");

  const std::string *te = request_.header("Transfer-Encoding");
  std::size_t cl_count = request_.header_count("Content-Length");
  if (te != nullptr) {
    if (cl_count > 0)
      return fail(400, "both Transfer-Encoding and Content-Length");
    if (request_.header_count("Transfer-Encoding") != 1 || !iequals(trim(*te), "chunked"))
      return fail(501, "only the chunked transfer coding is supported");
    phase_ = Phase::ChunkSize;
  } else if (cl_count > 0) {
    std::optional<std::size_t> length;
    for (const Header &hd : request_.headers) {
      if (!iequals(hd.name, "Content-Length"))
        continue;
      std::size_t v = 0;
      auto [ptr, ec] = std::from_chars(hd.value.data(), hd.value.data() + hd.value.size(), v);
      if (hd.value.empty() || ec != std::errc() || ptr != hd.value.data() + hd.value.size())
        return fail(ec == std::errc::result_out_of_range ? 413 : 400, "invalid Content-Length");
      if (length && *length != v)
        return fail(400, "conflicting Content-Length headers");
      length = v;
    }
    if (*length > limits_.max_body_bytes)
      return fail(413, "body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
    content_length_ = *length;
    phase_ = content_length_ == 0 ? Phase::Done : Phase::Body;
  } else {
    phase_ = Phase::Done;
  }
  if (const std::string *expect = request_.header("Expect"))
    expect_continue_ = iequals(*expect, "100-continue");
  if (phase_ != Phase::Done)
    request_.body.reserve(std::min(content_length_, limits_.max_body_bytes));
  return State::NeedMore;
}

RequestParser::State RequestParser::parse(std::string &buffer) {
  for (;;) {
    switch (phase_) {
    case Phase::Headers: {
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      std::size_t skip = 0;
      while (skip + 1 < buffer.size() && buffer[skip] == '\r' && buffer[skip + 1] == '\n')
        skip += 2;
      if (skip > 0)
        buffer.erase(0, skip);
      std::size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buffer.size() > limits_.max_header_bytes)
          return fail(431, "header section larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
        return State::NeedMore;
      }
      if (end + 4 > limits_.max_header_bytes)
        return fail(431, "header section larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
      State s = parse_head(std::string_view(buffer).substr(0, end));
      buffer.erase(0, end + 4);
      if (s == State::Failed)
        return s;
      break;
    }
    case Phase::Body: {
      std::size_t need = content_length_ - request_.body.size();
      std::size_t n = std::min(need, buffer.size());
      request_.body.append(buffer, 0, n);
      buffer.erase(0, n);
      if (request_.body.size() < content_length_)
        return State::NeedMore;
      phase_ = Phase::Done;
      break;
    }
    case Phase::ChunkSize: {
      std::size_t end = buffer.find("\r\n");
      if (end == std::string::npos)
        return buffer.size() > 1024 ? fail(400, "malformed chunk size") : State::NeedMore;
      std::string_view line = std::string_view(buffer).substr(0, end);
      line = line.substr(0, line.find(';'));
      line = trim(line);
      std::size_t size = 0;
      auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (line.empty() || ec != std::errc() || ptr != line.data() + line.size())
        return fail(ec == std::errc::result_out_of_range ? 413 : 400, "malformed chunk size");
      buffer.erase(0, end + 2);
      if (size == 0) {
        phase_ = Phase::Trailers;
        break;
      }
      if (size > limits_.max_body_bytes - request_.body.size())
        return fail(413, "body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
      chunk_left_ = size;
      phase_ = Phase::ChunkData;
      break;
    }
    case Phase::ChunkData: {
      std::size_t n = std::min(chunk_left_, buffer.size());
      request_.body.append(buffer, 0, n);
      buffer.erase(0, n);
      chunk_left_ -= n;
      if (chunk_left_ > 0)
        return State::NeedMore;
      phase_ = Phase::ChunkDataEnd;
      break;
    }
    case Phase::ChunkDataEnd:
      if (buffer.size() < 2)
        return State::NeedMore;
      if (buffer.compare(0, 2, "\r\n") != 0)
        return fail(400, "malformed chunk");
      buffer.erase(0, 2);
      phase_ = Phase::ChunkSize;
      break;
    case Phase::Trailers: {
      // Trailer fields are read and ignored, up to the empty line that ends the message.
      std::size_t end = buffer.find("\r\n");
      if (end == std::string::npos)
        return buffer.size() > limits_.max_header_bytes ? fail(431, "trailer section too large")
                                                        : State::NeedMore;
      buffer.erase(0, end + 2);
      if (end == 0)
        phase_ = Phase::Done;
      break;
    }
    case Phase::Done:
      return State::Complete;
    }
  }
}

} // namespace dfmcp::http
