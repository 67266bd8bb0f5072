#include "support/process.hpp"
#include "support/sandbox_client.hpp"
#include "upstream/http_client.hpp"

#include <httplib.h>

#include <cstdlib>
#include <future>
#include <thread>

using namespace dfmcp;
using namespace dfmcp::test;
using upstream::ErrorKind;
using Fault = sandbox::Fault;

namespace {

std::unique_ptr<sandbox::Sandbox> start_sandbox() { return sandbox::Sandbox::start(sandbox_options()); }

policy::CreatePlan plan(std::vector<std::string> perms, std::vector<std::string> sites) {
  return policy::CreatePlan{"test token", std::move(perms), std::move(sites), false};
}

upstream::UpstreamError list_error(upstream::AccountApi &api) {
  auto r = api.list(nullptr);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

} // namespace

TEST_SUITE("upstream") {

TEST_CASE("list - create and revoke against the sandbox over verified TLS") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb));
  auto before = api->list(nullptr);
  REQUIRE(before.has_value());
  CHECK(before->size() == 3);

  auto created = api->create(plan({"analytics:read", "websites:read"}, {"65a1b2c3d4e5f60718293a01"}), nullptr);
  REQUIRE(created.has_value());
  CHECK(created->key.reveal().starts_with("dft_"));
  CHECK(created->token.permissions == std::vector<std::string>{"analytics:read", "websites:read"});
  CHECK(display_key_matches(created->token.display_key, created->key));

  auto after = api->list(nullptr);
  REQUIRE(after.has_value());
  CHECK(after->size() == 4);
  CHECK(api->revoke(created->token.id, nullptr).has_value());
  auto again = api->revoke(created->token.id, nullptr);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().kind == ErrorKind::NotFound);

  // The body sent upstream always carries permissions explicitly.
  auto requests = sb->requests();
  auto post = std::find_if(requests.begin(), requests.end(), [](auto &r) { return r.method == "POST"; });
  REQUIRE(post != requests.end());
  CHECK(json::parse(post->body) == json{{"name", "test token"},
                                        {"permissions", {"analytics:read", "websites:read"}},
                                        {"websiteIds", {"65a1b2c3d4e5f60718293a01"}}});
  CHECK(post->authorized);
}

TEST_CASE("sequential calls reuse one kept-alive connection: one TLS handshake") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb));
  for (int i = 0; i < 10; ++i)
    REQUIRE(api->list(nullptr).has_value());
  auto created = api->create(plan({"analytics:read"}, {"65a1b2c3d4e5f60718293a01"}), nullptr);
  REQUIRE(created.has_value());
  REQUIRE(api->revoke(created->token.id, nullptr).has_value());
  CHECK(sb->request_count() == 12);
  CHECK(sb->tls_handshakes() == 1);
}

TEST_CASE("HTTP errors map to kinds with DataFast's message") {
  auto sb = start_sandbox();
  SUBCASE("401: a wrong parent token") {
    auto cfg = client_config(*sb);
    cfg.token = Secret("dft_wrongwrongwrongwrong");
    auto api = upstream::make_http_account_api(cfg);
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::Unauthorized);
    CHECK(e.status == 401);
    CHECK(e.detail == "Missing or invalid API token");
  }
  SUBCASE("403: a parent token without api-keys permissions") {
    std::string limited_key;
    sb->with_account([&](sandbox::Account &a) {
      a.add_token("limited", {"analytics:read"}, {});
      limited_key = a.tokens().back().key.reveal();
    });
    auto cfg = client_config(*sb);
    cfg.token = Secret(limited_key);
    auto api = upstream::make_http_account_api(cfg);
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::Forbidden);
    CHECK(e.detail.find("api-keys:read") != std::string::npos);
  }
  SUBCASE("429 with a Retry-After beyond the deadline: not retried, and said") {
    sb->inject(Fault::http_status(429, "GET", "7"));
    auto api = upstream::make_http_account_api(client_config(*sb, std::chrono::seconds(3)));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::RateLimited);
    CHECK(e.retry_after == "7");
    CHECK(e.attempts == 1);
    CHECK(upstream::describe(e, "list_access_tokens", false).find("retry after 7 s") != std::string::npos);
    CHECK(api->list(nullptr).has_value());
  }
  SUBCASE("500 is not retried") {
    sb->inject(Fault::http_status(500, ""));
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::ServerError);
    CHECK(e.attempts == 1);
    CHECK(sb->request_count() == 1);
  }
}

TEST_CASE("malformed answers are BadResponse - and a huge one is cut off") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb));
  for (auto kind : {Fault::Kind::Garbage, Fault::Kind::Truncated, Fault::Kind::WrongShape, Fault::Kind::HugeBody}) {
    CAPTURE(static_cast<int>(kind));
    sb->inject(Fault::of(kind, "GET"));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::BadResponse);
  }
  sb->inject(Fault::of(Fault::Kind::HugeBody, "GET"));
  CHECK(list_error(*api).detail.find("larger than") != std::string::npos);
  CHECK(api->list(nullptr).has_value()); // the client recovers
}

TEST_CASE("retries: GET and DELETE try again on 429/502/503/504 and broken connections - a POST never") {
  SUBCASE("a 503 then service: the GET succeeds on its retry") {
    auto sb = start_sandbox();
    auto api = upstream::make_http_account_api(client_config(*sb));
    sb->inject(Fault::http_status(503, "GET", "0"));
    CHECK(api->list(nullptr).has_value());
    CHECK(sb->request_count() == 2);
  }
  SUBCASE("a reset mid-body, then service") {
    auto sb = start_sandbox();
    auto api = upstream::make_http_account_api(client_config(*sb));
    sb->inject(Fault::of(Fault::Kind::Reset, "GET"));
    CHECK(api->list(nullptr).has_value());
    CHECK(sb->request_count() == 2);
  }
  SUBCASE("a persistent 502: bounded retries, then the error") {
    auto sb = start_sandbox();
    auto cfg = client_config(*sb);
    cfg.retry_base = std::chrono::milliseconds(10);
    auto api = upstream::make_http_account_api(cfg);
    Fault f = Fault::http_status(502, "GET");
    f.times = 100;
    sb->inject(f);
    auto e = list_error(*api);
    CHECK(e.status == 502);
    CHECK(e.attempts == 4);
    CHECK(sb->request_count() == 4);
  }
  SUBCASE("a POST that meets a reset or a 503 is never sent again") {
    auto sb = start_sandbox();
    auto api = upstream::make_http_account_api(client_config(*sb));
    for (Fault f : {Fault::of(Fault::Kind::Reset, "POST"), Fault::http_status(503, "POST", "0")}) {
      sb->inject(f);
      auto r = api->create(plan({"analytics:read"}, {"65a1b2c3d4e5f60718293a01"}), nullptr);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().attempts == 1);
    }
    CHECK(sb->request_count() == 2);
  }
  SUBCASE("a DELETE whose answer was lost: the retry finds it gone, and that is success") {
    auto sb = start_sandbox();
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto created = api->create(plan({"analytics:read"}, {"65a1b2c3d4e5f60718293a01"}), nullptr);
    REQUIRE(created.has_value());
    sb->inject(Fault::of(Fault::Kind::LoseAnswer, "DELETE"));
    CHECK(api->revoke(created->token.id, nullptr).has_value());
    std::size_t deletes = 0;
    for (const auto &r : sb->requests())
      deletes += r.method == "DELETE";
    CHECK(deletes == 2);
  }
}

TEST_CASE("a hanging upstream times out at the deadline") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb, std::chrono::milliseconds(300)));
  sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  auto e = list_error(*api);
  CHECK(e.kind == ErrorKind::Timeout);
  sb->release_hangs();
}

TEST_CASE("a delayed answer within the deadline is fine") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb, std::chrono::seconds(5)));
  sb->inject(Fault::delayed(std::chrono::milliseconds(50), "GET"));
  CHECK(api->list(nullptr).has_value());
}

TEST_CASE("cancelling a waiting GET returns at once") {
  auto sb = start_sandbox();
  auto api = upstream::make_http_account_api(client_config(*sb, std::chrono::seconds(30)));
  sb->inject(Fault::of(Fault::Kind::Hang, "GET"));
  CancelToken cancel;
  auto pending = std::async(std::launch::async, [&] { return api->list(&cancel); });
  REQUIRE(sb->wait_for_requests(1, std::chrono::seconds(10)));
  cancel.cancel();
  auto result = pending.get();
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::Cancelled);
  sb->release_hangs();
}

TEST_CASE("TLS failures: untrusted CA - host name mismatch - expired certificate") {
  SUBCASE("a certificate from another CA") {
    auto o = sandbox_options();
    o.untrusted_certificate = true;
    auto sb = sandbox::Sandbox::start(o);
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::Tls);
    CHECK_FALSE(e.request_sent);
    CHECK(e.detail.find("certificate of 127.0.0.1") != std::string::npos);
    CHECK(sb->request_count() == 0);
  }
  SUBCASE("a certificate for another host") {
    auto o = sandbox_options();
    o.leaf.dns_names = {"example.com"};
    o.leaf.ip_addresses = {};
    o.leaf.common_name = "127.0.0.1"; // cpp-httplib's own check would accept this CN; ours must not
    auto sb = sandbox::Sandbox::start(o);
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::Tls);
    CHECK(e.detail.find("mismatch") != std::string::npos);
    CHECK(sb->request_count() == 0);
  }
  SUBCASE("an expired certificate") {
    auto o = sandbox_options();
    o.leaf.not_before_offset_s = -7200;
    o.leaf.not_after_offset_s = -3600;
    auto sb = sandbox::Sandbox::start(o);
    auto api = upstream::make_http_account_api(client_config(*sb));
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::Tls);
    CHECK(e.detail.find("expired") != std::string::npos);
    CHECK(sb->request_count() == 0);
  }
}

TEST_CASE("a CA file is trusted instead of the system store") {
  auto sb = start_sandbox();
  TempDir dir;
  auto cfg = client_config(*sb);
  cfg.trust.make_store = nullptr;
  cfg.trust.ca_file = dir.write("ca.pem", sb->ca_pem());
  auto api = upstream::make_http_account_api(cfg);
  CHECK(api->list(nullptr).has_value());
  CHECK(upstream::ca_file_problem(*cfg.trust.ca_file) == std::nullopt);
  CHECK(upstream::ca_file_problem(dir.write("bad.pem", "not a certificate")).has_value());

  auto system_only = client_config(*sb);
  system_only.trust.make_store = nullptr; // the system store does not know the sandbox CA
  auto untrusting = upstream::make_http_account_api(system_only);
  CHECK(list_error(*untrusting).kind == ErrorKind::Tls);
}

TEST_CASE("the start-up look at a CA file, and a file that only OpenSSL can reject") {
  auto sb = start_sandbox();
  TempDir dir;
  std::string good = dir.write("ca.pem", sb->ca_pem());
  CHECK(upstream::ca_file_quick_problem(good) == std::nullopt);
  CHECK(upstream::ca_file_quick_problem(dir.path() + "/missing.pem").has_value());
  CHECK(upstream::ca_file_quick_problem(dir.write("text.pem", "not a certificate")).has_value());
  CHECK(upstream::ca_file_quick_problem(dir.write("key.pem", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
            .has_value());
  CHECK(upstream::ca_file_quick_problem(
            dir.write("junk.pem", "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"))
            .has_value());

  // Well-formed PEM and base64 whose DER is not a certificate: the quick look lets it through,
  // OpenSSL does not; the first request says which file, and nothing reaches the upstream.
  std::string body(64, 'M');
  std::string fake = dir.write("fake.pem", "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n");
  CHECK(upstream::ca_file_quick_problem(fake) == std::nullopt);
  CHECK(upstream::ca_file_problem(fake).has_value());
  auto cfg = client_config(*sb);
  cfg.trust.make_store = nullptr;
  cfg.trust.ca_file = fake;
  auto api = upstream::make_http_account_api(cfg);
  auto e = list_error(*api);
  CHECK(e.kind == ErrorKind::Tls);
  CHECK(e.detail.find("fake.pem") != std::string::npos);
  CHECK(sb->request_count() == 0);
}

TEST_CASE("a CA file means exactly that file: a CA known only through SSL_CERT_FILE is refused") {
  auto sb = start_sandbox();
  auto other = start_sandbox();
  TempDir dir;
  std::string sandbox_ca = dir.write("sandbox-ca.pem", sb->ca_pem());
  ::setenv("SSL_CERT_FILE", sandbox_ca.c_str(), 1); // OpenSSL's default store now trusts sb
  auto cfg = client_config(*sb);
  cfg.trust.make_store = nullptr;
  cfg.trust.ca_file = dir.write("other-ca.pem", other->ca_pem());
  auto strict = upstream::make_http_account_api(cfg);
  CHECK(list_error(*strict).kind == ErrorKind::Tls);
  cfg.trust.ca_file.reset(); // the system store: SSL_CERT_FILE counts there
  auto system = upstream::make_http_account_api(cfg);
  CHECK(system->list(nullptr).has_value());
  ::unsetenv("SSL_CERT_FILE");
}

TEST_CASE("connection refused is a Connection error that sent nothing") {
  int port = 0;
  {
    auto sb = start_sandbox();
    port = sb->port();
  } // stopped: nothing listens there now
  upstream::ClientConfig cfg;
  cfg.url = *parse_https_url("https://127.0.0.1:" + std::to_string(port) + "/api/v1/admin");
  cfg.token = Secret("dft_whatever000000000");
  cfg.timeout = std::chrono::seconds(5);
  auto api = upstream::make_http_account_api(cfg);
  auto e = list_error(*api);
  CHECK(e.kind == ErrorKind::Connection);
  CHECK_FALSE(e.request_sent);
}

TEST_CASE("redirects are never followed - so the bearer token goes only to the configured host") {
  auto other = start_sandbox(); // where a redirect would lead
  auto ca = tls::CertificateAuthority::generate("redirect test CA");
  tls::Leaf leaf = ca.issue({});
  httplib::SSLServer redirector(leaf.cert.get(), leaf.key.get());
  redirector.Get(".*", [&](const httplib::Request &, httplib::Response &res) {
    res.set_redirect(other->base_url() + "/access-tokens", 302);
  });
  int port = redirector.bind_to_any_port("127.0.0.1");
  std::thread server([&] { redirector.listen_after_bind(); });
  while (!redirector.is_running())
    std::this_thread::yield();

  upstream::ClientConfig cfg;
  cfg.url = *parse_https_url("https://127.0.0.1:" + std::to_string(port) + "/api/v1/admin");
  cfg.token = other->parent_token();
  cfg.trust.make_store = [&ca] { return ca.new_store(); };
  {
    auto api = upstream::make_http_account_api(cfg);
    auto e = list_error(*api);
    CHECK(e.kind == ErrorKind::UnexpectedStatus);
    CHECK(e.status == 302);
  }
  CHECK(other->request_count() == 0);
  redirector.stop();
  server.join();
}

TEST_CASE("envelope parsing: _id or id - data always a list - the key only from create") {
  auto list = upstream::parse_list(R"({"status":"success","data":[{"id":"a1","permissions":["*"],"websiteIds":[],"key":"dft_leaked"}]})");
  REQUIRE(list.has_value());
  CHECK(list->front().id == "a1");
  CHECK(model::public_view(list->front()).contains("key") == false);
  CHECK_FALSE(upstream::parse_list(R"({"status":"success","data":{}})").has_value());
  CHECK_FALSE(upstream::parse_list(R"({"status":"error","error":{"code":500,"message":"x"}})").has_value());
  CHECK_FALSE(upstream::parse_list(R"({"status":"success","data":[{"name":"no id"}]})").has_value());
  CHECK_FALSE(upstream::parse_list(R"({"status":"success","data":[{"_id":"a","permissions":"*"}]})").has_value());
  auto created = upstream::parse_created(R"({"status":"success","data":[{"_id":"b2","displayKey":"dft_abc...wxyz","key":"dft_abcRAW0000wxyz"}]})");
  REQUIRE(created.has_value());
  CHECK(created->token.id == "b2");
  CHECK(created->key.reveal() == "dft_abcRAW0000wxyz");
  CHECK_FALSE(upstream::parse_created(R"({"status":"success","data":[{"_id":"b2"}]})").has_value());
  CHECK_FALSE(upstream::parse_created(R"({"status":"success","data":[]})").has_value());
}

}
