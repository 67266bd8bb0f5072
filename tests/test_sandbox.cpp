#include "sandbox/account.hpp"
#include "sandbox/sandbox.hpp"
#include "secret.hpp"
#include "tls/certs.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>

using dfmcp::Secret;
using dfmcp::sandbox::Account;
using dfmcp::sandbox::Fault;
using dfmcp::sandbox::HttpResponse;
using dfmcp::sandbox::Sandbox;
using nlohmann::json;

namespace {

constexpr std::chrono::milliseconds kGuard{5000};
const std::string kSiteA = "65a1b2c3d4e5f60718293a01";
const std::string kSiteB = "65a1b2c3d4e5f60718293a02";

std::string bearer(const Secret &key) { return "Bearer " + key.reveal(); }

const Secret &key_of(const Account &account, const std::string &id) {
  auto it = std::find_if(account.tokens().begin(), account.tokens().end(),
                         [&](const auto &t) { return t.id == id; });
  REQUIRE(it != account.tokens().end());
  return it->key;
}

std::size_t count_owned(const Account &account, std::string_view owner) {
  return static_cast<std::size_t>(std::count_if(account.tokens().begin(), account.tokens().end(),
                                                [&](const auto &t) { return t.owner == owner; }));
}

json list(Account &account, const Secret &key) {
  HttpResponse res = account.handle("GET", "/access-tokens", bearer(key), "");
  REQUIRE(res.status == 200);
  json body = json::parse(res.body);
  REQUIRE(body.at("status") == "success");
  REQUIRE(body.at("data").is_array());
  return body.at("data");
}

HttpResponse create(Account &account, const Secret &key, const json &request) {
  return account.handle("POST", "/access-tokens", bearer(key), request.dump());
}

// Asserts DataFast's error envelope with code == HTTP status and the exact message.
void check_error(const HttpResponse &res, int status, const std::string &message) {
  CHECK(res.status == status);
  const json body = json::parse(res.body);
  CHECK(body.at("status") == "error");
  CHECK(body.at("error").at("code") == status);
  CHECK(body.at("error").at("message") == message);
}

// An extra token of this user that may mint tokens but holds only analytics:read on one website.
std::string add_limited_minter(Account &account) {
  return account.add_token("limited minter", {"api-keys:read", "api-keys:write", "analytics:read"},
                           {kSiteA});
}

// A client that trusts only the sandbox CA (platform notes §2: httplib's own verification would
// also load the system store).
std::unique_ptr<httplib::SSLClient> strict_client(const Sandbox &sandbox) {
  auto cli = std::make_unique<httplib::SSLClient>("127.0.0.1", sandbox.port());
  cli->enable_server_certificate_verification(false);
  cli->set_ca_cert_store(sandbox.new_trust_store());
  SSL_CTX *ctx = cli->ssl_context();
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
  cli->set_tcp_nodelay(true);
  cli->set_keep_alive(true);
  cli->set_connection_timeout(std::chrono::seconds(5));
  cli->set_read_timeout(std::chrono::seconds(5));
  cli->set_write_timeout(std::chrono::seconds(5));
  cli->set_bearer_token_auth(sandbox.parent_token().reveal());
  return cli;
}

Sandbox::Options quick_options() {
  Sandbox::Options options;
  // A short keep-alive keeps stop() quick should a client connection outlive a test.
  options.keep_alive_timeout_s = 2;
  return options;
}

} // namespace

TEST_SUITE("sandbox") {

  TEST_CASE("the seeded websites have fixed ids in a fixed order") {
    Account account;
    CHECK(Account::seeded_website_ids() ==
          std::vector<std::string>{kSiteA, kSiteB, "65a1b2c3d4e5f60718293a03"});
    REQUIRE(account.websites().size() == 3);
    CHECK(account.websites()[0].id == kSiteA);
    CHECK(account.websites()[0].domain == "shop.example");
  }

  TEST_CASE("list returns the caller's own tokens in creation order and never a key") {
    Account account;
    const json data = list(account, account.parent_token());
    REQUIRE(data.size() == 3);
    CHECK(data[0].at("name") == "datafast-mcp sandbox parent");
    CHECK(data[1].at("name") == "Read-only dashboard");
    CHECK(data[2].at("name") == "CI deploys");
    for (const auto &token : data) {
      CHECK_FALSE(token.contains("key"));
      CHECK(token.at("_id").get<std::string>().size() == 24);
      CHECK(token.at("scope") == "user");
      CHECK(token.at("displayKey").get<std::string>().starts_with("dft_"));
      CHECK(token.contains("lastUsedAt"));
      CHECK(token.at("createdAt").get<std::string>().ends_with("Z"));
    }
    CHECK(data[0].at("permissions") == json::array({"*"}));
    CHECK(data[1].at("websiteIds") == json::array({kSiteA}));
    CHECK(data[2].at("websiteIds") == json::array());
    // Only the caller has been used.
    CHECK(data[0].at("lastUsedAt").is_string());
    CHECK(data[1].at("lastUsedAt").is_null());
    CHECK(list(account, account.parent_token()).dump().find(account.parent_token().reveal()) ==
          std::string::npos);
  }

  TEST_CASE("raw keys are random dft_ keys of 40 alphanumeric characters") {
    Account first;
    Account second;
    const std::string &key = first.parent_token().reveal();
    CHECK(key.size() == 44);
    CHECK(key.starts_with("dft_"));
    CHECK(std::all_of(key.begin() + 4, key.end(), [](char c) { return std::isalnum(c) != 0; }));
    CHECK(key != second.parent_token().reveal());
  }

  TEST_CASE("create returns the raw key once and later lists do not") {
    Account account;
    HttpResponse res = create(account, account.parent_token(),
                              {{"name", "agent"},
                               {"permissions", {"analytics:read", "websites:read"}},
                               {"websiteIds", {kSiteA}}});
    REQUIRE(res.status == 200);
    const json body = json::parse(res.body);
    CHECK(body.at("status") == "success");
    REQUIRE(body.at("data").size() == 1);
    const json &created = body.at("data")[0];
    const std::string key = created.at("key").get<std::string>();
    CHECK(key.starts_with("dft_"));
    CHECK(dfmcp::display_key_matches(created.at("displayKey").get<std::string>(), Secret(key)));
    CHECK(created.at("name") == "agent");
    CHECK(created.at("scope") == "user");
    CHECK(created.at("permissions") == json::array({"analytics:read", "websites:read"}));
    CHECK(created.at("websiteIds") == json::array({kSiteA}));

    const json data = list(account, account.parent_token());
    REQUIRE(data.size() == 4);
    CHECK(data[3].at("_id") == created.at("_id"));
    CHECK_FALSE(data[3].contains("key"));
    CHECK(data.dump().find(key) == std::string::npos);
  }

  TEST_CASE("omitted permissions become full access and an omitted name is stored as null") {
    Account account;
    HttpResponse res = create(account, account.parent_token(), json::object());
    REQUIRE(res.status == 200);
    const json created = json::parse(res.body).at("data")[0];
    CHECK(created.at("permissions") == json::array({"*"}));
    CHECK(created.at("websiteIds") == json::array());
    CHECK(created.at("name").is_null());
  }

  TEST_CASE("permissions beyond the caller's token are refused with 403") {
    Account account;
    const Secret key = key_of(account, add_limited_minter(account));
    SUBCASE("a permission the caller lacks") {
      check_error(
          create(account, key,
                 {{"permissions", {"analytics:read", "websites:write"}}, {"websiteIds", {kSiteA}}}),
          403, "Cannot grant permissions beyond your own token: websites:write");
    }
    SUBCASE("full access") {
      check_error(create(account, key, {{"permissions", {"*"}}, {"websiteIds", {kSiteA}}}), 403,
                  "Cannot grant permissions beyond your own token: *");
    }
    SUBCASE("omitted permissions mean full access") {
      check_error(create(account, key, {{"websiteIds", {kSiteA}}}), 403,
                  "Cannot grant permissions beyond your own token: *");
    }
    SUBCASE("a covered subset is granted") {
      CHECK(create(account, key, {{"permissions", {"analytics:read"}}, {"websiteIds", {kSiteA}}})
                .status == 200);
    }
  }

  TEST_CASE("websites beyond a limited caller's scope are refused with 403") {
    Account account;
    const Secret key = key_of(account, add_limited_minter(account));
    check_error(
        create(account, key, {{"permissions", {"analytics:read"}}, {"websiteIds", {kSiteB}}}), 403,
        "Cannot grant access to website " + kSiteB + " beyond your own token scope");
  }

  TEST_CASE("all websites are refused for a caller limited to some websites") {
    Account account;
    const Secret key = key_of(account, add_limited_minter(account));
    const std::string message = "Cannot grant access to all websites beyond your own token scope";
    SUBCASE("explicit []") {
      check_error(create(account, key,
                         {{"permissions", {"analytics:read"}}, {"websiteIds", json::array()}}),
                  403, message);
    }
    SUBCASE("omitted websiteIds") {
      check_error(create(account, key, {{"permissions", {"analytics:read"}}}), 403, message);
    }
  }

  TEST_CASE("invalid create bodies are refused with 400") {
    Account account;
    const Secret &key = account.parent_token();
    auto post = [&](std::string_view body) {
      return account.handle("POST", "/access-tokens", bearer(key), body);
    };
    check_error(create(account, key, {{"permissions", {"access-tokens:read"}}}), 400,
                "Invalid permission: access-tokens:read");
    check_error(post("{not json"), 400, "Invalid JSON body");
    check_error(post(""), 400, "Invalid JSON body");
    check_error(post("[]"), 400, "Body must be an object");
    check_error(post(R"({"name":5})"), 400, "name must be a string or null");
    check_error(post(R"({"permissions":"*"})"), 400, "permissions must be an array of strings");
    check_error(post(R"({"permissions":[1]})"), 400, "permissions must be an array of strings");
    check_error(post(R"({"permissions":[]})"), 400, "permissions must not be empty");
    check_error(post(R"({"websiteIds":"all"})"), 400, "websiteIds must be an array of strings");
    check_error(post(R"({"websiteIds":["65a1b2c3d4e5f60718293aff"]})"), 400,
                "Unknown website: 65a1b2c3d4e5f60718293aff");
    check_error(post(std::string(100000, '[') + std::string(100000, ']')), 400,
                "Invalid JSON body");
    check_error(post("{\"name\":\"\xff\"}"), 400, "Invalid JSON body");
    CHECK(count_owned(account, Account::kSelf) == 3);
  }

  TEST_CASE("the 21st token is refused with 400 and the count stays at 20") {
    Account account;
    while (count_owned(account, Account::kSelf) < Account::kMaxTokens)
      account.add_token(std::nullopt, {"analytics:read"}, {});
    check_error(create(account, account.parent_token(), {{"permissions", {"analytics:read"}}}), 400,
                "Maximum 20 tokens per account");
    CHECK(count_owned(account, Account::kSelf) == 20);
    CHECK(list(account, account.parent_token()).size() == 20);
  }

  TEST_CASE("deleting an own token answers 200 and then 404") {
    Account account;
    const std::string id = account.add_token("temp", {"analytics:read"}, {});
    const std::string path = "/access-tokens/" + id;
    HttpResponse res = account.handle("DELETE", path, bearer(account.parent_token()), "");
    REQUIRE(res.status == 200);
    CHECK(json::parse(res.body) ==
          json{{"status", "success"},
               {"data", json::array({{{"message", "Access token deleted successfully"}}})}});
    check_error(account.handle("DELETE", path, bearer(account.parent_token()), ""), 404,
                "Token not found or not owned by the caller");
    CHECK(list(account, account.parent_token()).size() == 3);
  }

  TEST_CASE("a token may revoke itself and then no longer authenticates") {
    Account account;
    const Secret parent = account.parent_token();
    const std::string path = "/access-tokens/" + account.tokens()[0].id;
    CHECK(account.handle("DELETE", path, bearer(parent), "").status == 200);
    check_error(account.handle("GET", "/access-tokens", bearer(parent), ""), 401,
                "Missing or invalid API token");
    CHECK(account.parent_token().empty());
  }

  TEST_CASE("deleting another user's token answers 404 and leaves it in place") {
    Account account;
    auto other = std::find_if(account.tokens().begin(), account.tokens().end(),
                              [](const auto &t) { return t.owner == Account::kOther; });
    REQUIRE(other != account.tokens().end());
    const std::string id = other->id;
    check_error(
        account.handle("DELETE", "/access-tokens/" + id, bearer(account.parent_token()), ""), 404,
        "Token not found or not owned by the caller");
    check_error(account.handle("DELETE", "/access-tokens/ffffffffffffffffffffffff",
                               bearer(account.parent_token()), ""),
                404, "Token not found or not owned by the caller");
    CHECK(count_owned(account, Account::kOther) == 1);
  }

  TEST_CASE("a missing or invalid bearer is refused with 401") {
    Account account;
    const std::string message = "Missing or invalid API token";
    check_error(account.handle("GET", "/access-tokens", "", ""), 401, message);
    check_error(account.handle("GET", "/access-tokens", "Bearer ", ""), 401, message);
    check_error(account.handle("GET", "/access-tokens", "Basic abc", ""), 401, message);
    check_error(account.handle("GET", "/access-tokens",
                               "Bearer dft_notAKeyOfThisAccount0000000000000000", ""),
                401, message);
    check_error(account.handle("GET", "/access-tokens", account.parent_token().reveal(), ""), 401,
                message);
    check_error(account.handle("POST", "/access-tokens", "", "{}"), 401, message);
    CHECK(count_owned(account, Account::kSelf) == 3);
  }

  TEST_CASE("a df_ website key is refused with 403") {
    Account account;
    check_error(account.handle("GET", "/access-tokens", "Bearer df_0123456789abcdef", ""), 403,
                "Website API keys (df_) cannot access account-level resources");
  }

  TEST_CASE("a caller without api-keys permissions is refused with 403") {
    Account account;
    const Secret reader = key_of(account, account.tokens()[1].id); // Read-only dashboard
    check_error(account.handle("GET", "/access-tokens", bearer(reader), ""), 403,
                "Missing permission: api-keys:read");
    check_error(create(account, reader, {{"permissions", {"analytics:read"}}}), 403,
                "Missing permission: api-keys:write");
    check_error(
        account.handle("DELETE", "/access-tokens/" + account.tokens()[2].id, bearer(reader), ""),
        403, "Missing permission: api-keys:write");
    CHECK(count_owned(account, Account::kSelf) == 3);
  }

  TEST_CASE("unknown paths answer 404 and other methods on known paths 405") {
    Account account;
    const std::string auth = bearer(account.parent_token());
    check_error(account.handle("GET", "/account", auth, ""), 404, "Not found");
    check_error(account.handle("GET", "/access-tokens/a/b", auth, ""), 404, "Not found");
    check_error(account.handle("GET", "/access-tokensx", auth, ""), 404, "Not found");
    check_error(account.handle("PUT", "/access-tokens", auth, "{}"), 405, "Method not allowed");
    check_error(account.handle("GET", "/access-tokens/" + account.tokens()[1].id, auth, ""), 405,
                "Method not allowed");
    check_error(account.handle("DELETE", "/access-tokens", auth, ""), 405, "Method not allowed");
  }

  TEST_CASE("an authenticated request records the caller's lastUsedAt") {
    Account account;
    CHECK_FALSE(account.tokens()[2].last_used_at.has_value());
    const Secret ci = account.tokens()[2].key;
    account.handle("GET", "/access-tokens", bearer(ci), ""); // 403, but authenticated
    CHECK(account.tokens()[2].last_used_at.has_value());
  }

  TEST_CASE("the CA issues leaves with the requested names and validity") {
    auto ca = dfmcp::tls::CertificateAuthority::generate("test CA");
    CHECK(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
    dfmcp::tls::Leaf leaf = ca.issue({});
    REQUIRE(leaf.cert);
    REQUIRE(leaf.key);
    X509_STORE *store = ca.new_store();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    REQUIRE(X509_STORE_CTX_init(ctx, store, leaf.cert.get(), nullptr) == 1);
    X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), "127.0.0.1");
    CHECK(X509_verify_cert(ctx) == 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    CHECK(X509_check_host(leaf.cert.get(), "localhost", 0, 0, nullptr) == 1);
  }

  TEST_CASE("over TLS the parent token lists the account's tokens") {
    auto sandbox = Sandbox::start(quick_options());
    CHECK(sandbox->base_url() ==
          "https://127.0.0.1:" + std::to_string(sandbox->port()) + "/api/v1/admin");
    auto cli = strict_client(*sandbox);
    auto res = cli->Get("/api/v1/admin/access-tokens");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK(json::parse(res->body).at("data").size() == 3);

    auto missing = cli->Get("/api/v1/other");
    REQUIRE(missing);
    check_error({missing->status, missing->body, {}}, 404, "Not found");
  }

  TEST_CASE("ten sequential requests on a kept-alive client cost one TLS handshake") {
    auto sandbox = Sandbox::start(quick_options());
    auto cli = strict_client(*sandbox);
    for (int i = 0; i < 10; ++i) {
      auto res = cli->Get("/api/v1/admin/access-tokens");
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    CHECK(sandbox->tls_handshakes() == 1);
  }

  TEST_CASE("the request log records method - path - body - authorization and status") {
    auto sandbox = Sandbox::start(quick_options());
    auto cli = strict_client(*sandbox);
    REQUIRE(cli->Get("/api/v1/admin/access-tokens"));
    cli->set_bearer_token_auth("dft_wrongwrongwrongwrongwrongwrongwrongwrong");
    REQUIRE(cli->Post("/api/v1/admin/access-tokens", R"({"name":"x"})", "application/json"));
    REQUIRE(sandbox->wait_for_requests(2, kGuard));
    const auto log = sandbox->requests();
    REQUIRE(log.size() == 2);
    CHECK(log[0].method == "GET");
    CHECK(log[0].path == "/api/v1/admin/access-tokens");
    CHECK(log[0].authorized);
    CHECK(log[0].status == 200);
    CHECK(log[1].method == "POST");
    CHECK(log[1].body == R"({"name":"x"})");
    CHECK_FALSE(log[1].authorized);
    CHECK(log[1].status == 401);
  }

  TEST_CASE("a status fault with Retry-After is served once - then normal service resumes") {
    auto sandbox = Sandbox::start(quick_options());
    Fault fault;
    fault.kind = Fault::Kind::Status;
    fault.status = 429;
    fault.retry_after = "7";
    sandbox->inject(fault);
    auto cli = strict_client(*sandbox);

    auto first = cli->Get("/api/v1/admin/access-tokens");
    REQUIRE(first);
    check_error({first->status, first->body, {}}, 429, "Injected fault");
    CHECK(first->get_header_value("Retry-After") == "7");

    auto second = cli->Get("/api/v1/admin/access-tokens");
    REQUIRE(second);
    CHECK(second->status == 200);
    const auto log = sandbox->requests();
    REQUIRE(log.size() == 2);
    CHECK(log[0].status == 429);
    CHECK(log[0].authorized);
  }

  TEST_CASE("a fault applies only to its method and for its number of times") {
    auto sandbox = Sandbox::start(quick_options());
    Fault fault;
    fault.method = "POST";
    fault.status = 503;
    fault.times = 2;
    sandbox->inject(fault);
    auto cli = strict_client(*sandbox);
    CHECK(cli->Get("/api/v1/admin/access-tokens")->status == 200);
    CHECK(cli->Post("/api/v1/admin/access-tokens", "{}", "application/json")->status == 503);
    CHECK(cli->Post("/api/v1/admin/access-tokens", "{}", "application/json")->status == 503);
    CHECK(cli->Post("/api/v1/admin/access-tokens", R"({"permissions":["analytics:read"]})",
                    "application/json")
              ->status == 200);
    sandbox->with_account(
        [](Account &account) { CHECK(count_owned(account, Account::kSelf) == 4); });
  }

  TEST_CASE("a hanging request returns 503 once release_hangs is called") {
    auto sandbox = Sandbox::start(quick_options());
    Fault fault;
    fault.kind = Fault::Kind::Hang;
    sandbox->inject(fault);
    auto cli = strict_client(*sandbox);
    auto pending = std::async(std::launch::async, [&cli] {
      auto res = cli->Get("/api/v1/admin/access-tokens");
      return res ? res->status : -1;
    });
    REQUIRE(sandbox->wait_for_requests(1, kGuard));
    CHECK(pending.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
    sandbox->release_hangs();
    CHECK(pending.get() == 503);
    CHECK(sandbox->requests()[0].status == 503);
  }

  TEST_CASE("malformed-answer faults give the client what they promise") {
    auto sandbox = Sandbox::start(quick_options());
    auto cli = strict_client(*sandbox);
    auto get = [&] { return cli->Get("/api/v1/admin/access-tokens"); };
    Fault fault;

    fault.kind = Fault::Kind::Garbage;
    sandbox->inject(fault);
    auto garbage = get();
    REQUIRE(garbage);
    CHECK(garbage->status == 200);
    CHECK(garbage->body == "<html>not json</html>");
    CHECK(garbage->get_header_value("Content-Type") == "text/html");

    fault.kind = Fault::Kind::Truncated;
    sandbox->inject(fault);
    auto truncated = get();
    REQUIRE(truncated);
    CHECK(truncated->status == 200);
    CHECK(truncated->body.starts_with(R"({"data":[{)"));
    CHECK_FALSE(json::accept(truncated->body));

    fault.kind = Fault::Kind::WrongShape;
    sandbox->inject(fault);
    auto shape = get();
    REQUIRE(shape);
    CHECK(json::parse(shape->body) == json{{"status", "success"}, {"data", json::object()}});

    fault.kind = Fault::Kind::HugeBody;
    fault.size = 300 * 1024 + 7;
    sandbox->inject(fault);
    auto huge = get();
    REQUIRE(huge);
    CHECK(huge->body.size() == fault.size);
    CHECK(json::accept(huge->body));

    fault.kind = Fault::Kind::Delay;
    fault.delay = std::chrono::milliseconds(20);
    sandbox->inject(fault);
    auto delayed = get();
    REQUIRE(delayed);
    CHECK(delayed->status == 200);
  }

  TEST_CASE("a reset fault gives the client an error and the next request succeeds") {
    auto sandbox = Sandbox::start(quick_options());
    Fault fault;
    fault.kind = Fault::Kind::Reset;
    sandbox->inject(fault);
    auto cli = strict_client(*sandbox);
    auto res = cli->Get("/api/v1/admin/access-tokens");
    CHECK_FALSE(res);
    CHECK(sandbox->requests().at(0).status == 0);
    auto again = cli->Get("/api/v1/admin/access-tokens");
    REQUIRE(again);
    CHECK(again->status == 200);
  }

  TEST_CASE("a sandbox with an untrusted certificate is rejected by a strict client") {
    Sandbox::Options options = quick_options();
    options.untrusted_certificate = true;
    auto sandbox = Sandbox::start(options);
    auto cli = strict_client(*sandbox);
    auto res = cli->Get("/api/v1/admin/access-tokens");
    REQUIRE_FALSE(res);
    CHECK(res.error() == httplib::Error::SSLConnection);
    CHECK(sandbox->request_count() == 0);
  }

  TEST_CASE("an expired sandbox certificate is rejected by a strict client") {
    Sandbox::Options options = quick_options();
    options.leaf.not_before_offset_s = -7200;
    options.leaf.not_after_offset_s = -3600;
    auto sandbox = Sandbox::start(options);
    auto cli = strict_client(*sandbox);
    CHECK_FALSE(cli->Get("/api/v1/admin/access-tokens"));
    CHECK(sandbox->request_count() == 0);
  }

  TEST_CASE("stop is idempotent and releases a hanging request") {
    auto sandbox = Sandbox::start(quick_options());
    Fault fault;
    fault.kind = Fault::Kind::Hang;
    sandbox->inject(fault);
    auto cli = strict_client(*sandbox);
    auto pending = std::async(std::launch::async, [&cli] {
      auto res = cli->Get("/api/v1/admin/access-tokens");
      return res ? res->status : -1;
    });
    REQUIRE(sandbox->wait_for_requests(1, kGuard));
    sandbox->stop();
    CHECK(pending.get() == 503);
    sandbox->stop();
  }

} // TEST_SUITE
