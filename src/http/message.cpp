#include "http/message.hpp"

#include <algorithm>

namespace dfmcp::http {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

const std::string *Request::header(std::string_view name) const {
  for (const Header &h : headers)
    if (iequals(h.name, name))
      return &h.value;
  return nullptr;
}

std::size_t Request::header_count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const Header &h) { return iequals(h.name, name); }));
}

bool Request::keep_alive() const {
  const std::string *connection = header("Connection");
  auto has_token = [&](std::string_view token) {
    if (connection == nullptr)
      return false;
    std::string_view v = *connection;
    while (!v.empty()) {
      std::size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
        item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
        item.remove_suffix(1);
      if (iequals(item, token))
        return true;
      if (comma == std::string_view::npos)
        break;
      v.remove_prefix(comma + 1);
    }
    return false;
  };
  if (minor_version == 0) // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding has faulty framing
    return has_token("keep-alive") && header("Transfer-Encoding") == nullptr;
  return !has_token("close");
}

void Response::set(std::string name, std::string value) {
  for (Header &h : headers)
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  headers.push_back({std::move(name), std::move(value)});
}

const std::string *Response::header(std::string_view name) const {
  for (const Header &h : headers)
    if (iequals(h.name, name))
      return &h.value;
  return nullptr;
}

std::string_view reason_phrase(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Status";
  }
}

std::string serialize(const Response &r, bool head_only) {
  std::string out;
  out.reserve(128 + r.body.size() + r.headers.size() * 32);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\n";
  for (const Header &h : r.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (r.status >= 200 && r.status != 204) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  if (r.close)
    out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only)
    out += r.body;
  return out;
}

} // namespace dfmcp::http
