// Test helpers: an upstream client configured for a sandbox (trusting only its CA).
#pragma once

#include "sandbox/sandbox.hpp"
#include "upstream/account_api.hpp"
#include "util/url.hpp"

#include <doctest/doctest.h>

namespace dfmcp::test {

inline upstream::ClientConfig client_config(const sandbox::Sandbox &sb,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  upstream::ClientConfig c;
  auto url = parse_https_url(sb.base_url());
  REQUIRE(url.has_value());
  c.url = *url;
  c.token = sb.parent_token();
  const sandbox::Sandbox *p = &sb;
  c.trust.make_store = [p] { return p->new_trust_store(); };
  c.timeout = timeout;
  return c;
}

inline sandbox::Sandbox::Options sandbox_options() {
  sandbox::Sandbox::Options o;
  o.keep_alive_timeout_s = 5;
  return o;
}

} // namespace dfmcp::test
