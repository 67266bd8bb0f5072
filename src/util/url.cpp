#include "util/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace dfmcp {

std::string HttpsUrl::origin() const {
  return "https://" + host + (port == 443 ? "" : ":" + std::to_string(port));
}

std::string HttpsUrl::to_string() const { return origin() + base_path; }

Expected<HttpsUrl, std::string> parse_https_url(std::string_view text) {
  constexpr std::string_view scheme = "https://";
  if (!text.starts_with(scheme)) {
    if (text.starts_with("http://"))
      return unexpected(std::string("must use https (the parent token is never sent in clear)"));
    return unexpected(std::string("must be an https:// URL"));
  }
  std::string_view rest = text.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return unexpected(std::string("must not have a query or fragment"));
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return unexpected(std::string("must not carry user info (user@host)"));
  if (authority.starts_with("["))
    return unexpected(std::string("IPv6 literals are not supported; use a host name"));

  HttpsUrl url;
  std::string_view host = authority;
  if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535)
      return unexpected("has an invalid port '" + std::string(port) + "'");
    url.port = value;
  }
  if (host.empty())
    return unexpected(std::string("has no host"));
  bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
  if (!host_ok)
    return unexpected("has an invalid host '" + std::string(host) + "'");
  url.host = std::string(host);
  std::transform(url.host.begin(), url.host.end(), url.host.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  in_addr addr{};
  url.host_is_ip = inet_pton(AF_INET, url.host.c_str(), &addr) == 1;

  std::string p(path);
  while (!p.empty() && p.back() == '/')
    p.pop_back();
  bool path_ok = std::all_of(p.begin(), p.end(), [](char c) {
    return c > 0x20 && c < 0x7F && c != '\\' && c != '"' && c != '<' && c != '>';
  });
  if (!path_ok)
    return unexpected(std::string("has an invalid path"));
  url.base_path = p;
  return url;
}

} // namespace dfmcp
