// Drives an mcp::Session in memory: send a message, get the reply (running a tool-call job inline
// when there is one), and check results and errors.
#pragma once

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"
#include "support/fake_account_api.hpp"
#include "tools/token_tools.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace dfmcp::test {

inline policy::Ceiling make_test_ceiling(std::vector<std::string> perms,
                                         std::optional<std::vector<std::string>> sites) {
  auto c = policy::make_ceiling({std::move(perms), std::move(sites)});
  REQUIRE(c.has_value());
  return *c;
}

// A session over the real tools and a FakeAccountApi.
// A step's reply as JSON, whether the session built it as JSON or serialized it already; null
// when there is none.
inline json reply_of(const mcp::Step &step) {
  if (step.reply_text)
    return json::parse(*step.reply_text);
  return step.reply ? *step.reply : json(nullptr);
}

// Runs a tool call's job; its reply as JSON, or nullopt when it sends none (cancelled).
inline std::optional<json> run_job(mcp::Job &job) {
  auto reply = job.run();
  if (!reply)
    return std::nullopt;
  return json::parse(reply->text);
}

struct Harness {
  FakeAccountApi api;
  tools::ToolRegistry registry;
  std::unique_ptr<mcp::Server> server;
  std::unique_ptr<mcp::Session> session;
  std::vector<json> notifications; // guarded by mutex (tool jobs may run on other threads)
  std::mutex mutex;
  std::condition_variable arrived;
  int next_id = 100;
  std::shared_ptr<tools::Broker> broker;

  explicit Harness(policy::Ceiling ceiling, Secret parent = Secret("dft_PARENTkey000000000000000wxyz"),
                   tools::BrokerOptions options = {}, safety::Ledger *ledger = nullptr, audit::AuditLog *audit = nullptr) {
    broker = tools::register_token_tools(registry, api, std::move(parent), std::move(options), ledger, audit);
    server = std::make_unique<mcp::Server>(registry, std::move(ceiling));
    session = std::make_unique<mcp::Session>(*server, "test", server->ceiling(), [this](const json &m) {
      std::lock_guard lock(mutex);
      notifications.push_back(m);
      arrived.notify_all();
      return true;
    });
  }

  // Waits (guarded) for a message from the server that satisfies `pred`; null if none came.
  json wait_for(const std::function<bool(const json &)> &pred) {
    std::unique_lock lock(mutex);
    json found;
    arrived.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const json &n : notifications)
        if (pred(n)) {
          found = n;
          return true;
        }
      return false;
    });
    return found;
  }

  // Sends a message; returns the reply (after running a job, if the step has one), or null.
  json send(const json &message) {
    mcp::Step step = session->handle(message);
    if (step.job) {
      REQUIRE_FALSE(step.has_reply());
      auto reply = run_job(*step.job);
      return reply ? *reply : json(nullptr);
    }
    return reply_of(step);
  }
  json send_line(std::string_view line) {
    mcp::Step step = session->handle_line(line);
    REQUIRE_FALSE(step.job.has_value());
    return reply_of(step);
  }

  json request(const std::string &method, json params = nullptr) {
    json m{{"jsonrpc", "2.0"}, {"id", ++next_id}, {"method", method}};
    if (!params.is_null())
      m["params"] = std::move(params);
    return send(m);
  }

  void initialize(const std::string &version = "2025-11-25", json capabilities = json::object()) {
    json r = request("initialize", {{"protocolVersion", version},
                                    {"capabilities", capabilities},
                                    {"clientInfo", {{"name", "test-client"}, {"version", "1.0"}}}});
    REQUIRE(r.contains("result"));
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }

  // tools/call; returns the CallToolResult.
  json call(const std::string &tool, json arguments = json::object()) {
    json r = request("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
    REQUIRE(r.contains("result"));
    return r["result"];
  }
};

inline std::string error_text(const json &result) {
  REQUIRE(result.at("isError") == true);
  CHECK_FALSE(result.contains("structuredContent"));
  return result.at("content").at(0).at("text").get<std::string>();
}

inline json structured(const json &result) {
  REQUIRE(result.at("isError") == false);
  // The text block carries the same JSON as structuredContent.
  CHECK(json::parse(result.at("content").at(0).at("text").get<std::string>()) ==
        result.at("structuredContent"));
  return result.at("structuredContent");
}

inline int error_code(const json &reply) { return reply.at("error").at("code").get<int>(); }

} // namespace dfmcp::test
