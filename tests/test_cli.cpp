#include "cli.hpp"

#include <doctest/doctest.h>

using namespace dfmcp;

namespace {
Expected<CliRequest, CliExit> parse(std::vector<const char *> args) {
  args.insert(args.begin(), "datafast-mcp");
  return parse_cli(static_cast<int>(args.size()), args.data());
}
} // namespace

TEST_SUITE("cli") {

TEST_CASE("no subcommand serves - options fill what was given and nothing else") {
  auto r = parse({"--config", "c.json", "--permissions", "analytics:read,websites:read", "--websites", "*"});
  REQUIRE(r.has_value());
  CHECK(r->command == Command::Serve);
  CHECK(r->options.config_path == std::optional<std::string>("c.json"));
  CHECK(r->options.permissions == std::optional<std::vector<std::string>>({"analytics:read", "websites:read"}));
  CHECK(r->options.websites == std::optional<std::string>("*"));
  CHECK_FALSE(r->options.upstream_url.has_value());
  CHECK_FALSE(r->options.timeout_ms.has_value());
  CHECK_FALSE(r->options.sandbox);
}

TEST_CASE("check takes the same options before or after its name") {
  auto after = parse({"check", "--config", "c.json", "--sandbox"});
  REQUIRE(after.has_value());
  CHECK(after->command == Command::Check);
  CHECK(after->options.config_path == std::optional<std::string>("c.json"));
  CHECK(after->options.sandbox);
  auto before = parse({"--config", "c.json", "check"});
  REQUIRE(before.has_value());
  CHECK(before->command == Command::Check);
  CHECK(before->options.config_path == std::optional<std::string>("c.json"));
}

TEST_CASE("--permissions may repeat and accumulates") {
  auto r = parse({"--permissions", "goals:read", "--permissions", "goals:write"});
  REQUIRE(r.has_value());
  CHECK(r->options.permissions == std::optional<std::vector<std::string>>({"goals:read", "goals:write"}));
}

TEST_CASE("--help and --version print to stdout and exit 0") {
  auto help = parse({"--help"});
  REQUIRE_FALSE(help.has_value());
  CHECK(help.error().code == 0);
  CHECK(help.error().out.find("--permissions") != std::string::npos);
  CHECK(help.error().out.find("Examples:") != std::string::npos);
  auto check_help = parse({"check", "--help"});
  REQUIRE_FALSE(check_help.has_value());
  CHECK(check_help.error().out.find("Validate the configuration") != std::string::npos);
  auto version = parse({"--version"});
  REQUIRE_FALSE(version.has_value());
  CHECK(version.error().code == 0);
  CHECK(version.error().out.find("datafast-mcp " DFMCP_VERSION " (MCP protocol 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26)") != std::string::npos);
}

TEST_CASE("usage errors exit 2 with one line") {
  for (std::vector<const char *> args : {std::vector<const char *>{"--frobnicate"},
                                         std::vector<const char *>{"--timeout-ms", "soon"},
                                         std::vector<const char *>{"--config"},
                                         std::vector<const char *>{"serve-http"}}) {
    auto r = parse(args);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == 2);
    CHECK(r.error().err.starts_with("datafast-mcp: usage error: "));
    CHECK(std::count(r.error().err.begin(), r.error().err.end(), '\n') == 1);
  }
}

}
