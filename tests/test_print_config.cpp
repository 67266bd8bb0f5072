// print-config snippets: every client's output parses back (JSON through nlohmann, TOML and YAML
// as exact text, the shell line through a small POSIX word splitter), carries the binary path
// escaped exactly once, and names the token only as a variable reference.
#include "print_config.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using dfmcp::print_config::clients;
using dfmcp::print_config::render;
using dfmcp::print_config::Request;
using nlohmann::json;

namespace {

const std::string kWinBinary = R"(C:\Program Files\datafast-mcp\datafast-mcp.exe)";
const std::string kWinConfig = R"(C:\Users\Zoë "Z"\datafast config.json)";
const std::vector<std::string> kCeilingArgs = {"--permissions", "analytics:read,websites:read",
                                               "--websites", "*"};
const std::string kUrl = "http://127.0.0.1:8787/mcp";

Request stdio_request(const std::string &client) {
  Request r;
  r.client = client;
  r.binary = kWinBinary;
  r.config = kWinConfig;
  r.extra_args = kCeilingArgs;
  return r;
}

Request http_request(const std::string &client) {
  Request r;
  r.client = client;
  r.binary = kWinBinary;
  r.http_url = kUrl;
  return r;
}

std::string rendered(const Request &r) {
  auto out = render(r);
  REQUIRE_MESSAGE(out.has_value(), (out.has_value() ? "" : out.error()));
  return *out;
}

size_t count(const std::string &hay, const std::string &needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
    ++n;
  return n;
}

// The words a POSIX shell makes of a line of bare words and single-quoted strings (all the
// claude-code-cli renderer writes); fails the test on anything else.
std::vector<std::string> shell_words(const std::string &line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, quoted = false;
  for (char c : line) {
    if (quoted) {
      if (c == '\'')
        quoted = false;
      else
        word += c;
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == '\\') {
      FAIL("unexpected backslash outside quotes");
    } else if (c == ' ' || c == '\n') {
      if (in_word)
        words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      CHECK(std::string("\"$`;&|<>(){}*?[]!#~").find(c) == std::string::npos);
      word += c;
      in_word = true;
    }
  }
  CHECK_FALSE(quoted);
  if (in_word)
    words.push_back(word);
  return words;
}

std::vector<std::string> expected_args() {
  std::vector<std::string> a = {"--config", kWinConfig};
  a.insert(a.end(), kCeilingArgs.begin(), kCeilingArgs.end());
  return a;
}

// For each JSON client: the map the server entry sits in, and the token reference it must use.
struct JsonClient {
  std::string name, top, stdio_ref, http_header;
};

const std::vector<JsonClient> kJsonClients = {
    {"claude-desktop", "mcpServers", "<value of DATAFAST_TOKEN>", ""},
    {"claude-code", "mcpServers", "${DATAFAST_TOKEN}", "Bearer ${DATAFAST_MCP_HTTP_TOKEN}"},
    {"cursor", "mcpServers", "${env:DATAFAST_TOKEN}", "Bearer ${env:DATAFAST_MCP_HTTP_TOKEN}"},
    {"vscode", "servers", "${input:datafast-token}", "Bearer ${input:datafast-mcp-http-token}"},
    {"windsurf", "mcpServers", "${env:DATAFAST_TOKEN}", "Bearer ${env:DATAFAST_MCP_HTTP_TOKEN}"},
    {"gemini", "mcpServers", "$DATAFAST_TOKEN", "Bearer ${DATAFAST_MCP_HTTP_TOKEN}"},
    {"zed", "context_servers", "", "Bearer <value of DATAFAST_MCP_HTTP_TOKEN>"},
};

#ifdef DFMCP_SOURCE_DIR
std::string read_file(const std::string &rel) {
  std::ifstream in(std::string(DFMCP_SOURCE_DIR) + "/agent-configs/" + rel, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read agent-configs/" << rel);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Drops the leading comment lines ("//" or "#") both the files and some snippets open with.
std::string without_leading_comments(const std::string &text) {
  size_t at = 0;
  while (at < text.size() && (text.compare(at, 2, "//") == 0 || text[at] == '#'))
    at = text.find('\n', at) + 1;
  return text.substr(at);
}
#endif

} // namespace

TEST_SUITE("print-config") {

  TEST_CASE("the client list names every client once, and each can render stdio") {
    std::vector<std::string> names;
    for (const auto &c : clients()) {
      CHECK_FALSE(c.where.empty());
      CHECK_FALSE(c.secret_handling.empty());
      CHECK(c.stdio);
      names.push_back(c.name);
    }
    CHECK(names == std::vector<std::string>{"claude-desktop", "claude-code", "claude-code-cli",
                                            "cursor", "vscode", "windsurf", "codex", "codex-cli", "gemini",
                                            "gemini-cli", "zed", "continue"});
  }

  TEST_CASE("JSON snippets parse back with the Windows path escaped exactly once") {
    const std::string escaped_binary = json(kWinBinary).dump();
    for (const auto &c : kJsonClients) {
      CAPTURE(c.name);
      const std::string out = rendered(stdio_request(c.name));
      const json doc = json::parse(out, nullptr, true, /*ignore_comments=*/true);
      const json &server = doc.at(c.top).at("datafast");
      CHECK(server.at("command") == kWinBinary);
      CHECK(server.at("args").get<std::vector<std::string>>() == expected_args());
      CHECK(count(out, escaped_binary.substr(1, escaped_binary.size() - 2)) == 1);
      if (c.stdio_ref.empty())
        CHECK_FALSE(server.contains("env"));
      else
        CHECK(server.at("env").at("DATAFAST_TOKEN") == c.stdio_ref);
      CHECK(out.find("dft_") == std::string::npos);
      CHECK(out.back() == '\n');
    }
  }

  TEST_CASE("JSON HTTP snippets parse back with the URL and the bearer reference") {
    for (const auto &c : kJsonClients) {
      CAPTURE(c.name);
      if (c.http_header.empty()) {
        CHECK_FALSE(render(http_request(c.name)).has_value());
        continue;
      }
      const std::string out = rendered(http_request(c.name));
      const json doc = json::parse(out, nullptr, true, /*ignore_comments=*/true);
      const json &server = doc.at(c.top).at("datafast");
      const std::string url_key = c.name == "windsurf" ? "serverUrl" : c.name == "gemini" ? "httpUrl" : "url";
      CHECK(server.at(url_key) == kUrl);
      CHECK(count(out, kUrl) == 1);
      CHECK(server.at("headers").at("Authorization") == c.http_header);
      CHECK(out.find("datafast-mcp.exe") == std::string::npos);
    }
  }

  TEST_CASE("each JSON client gets the transport keys it reads") {
    const json cc = json::parse(rendered(http_request("claude-code")));
    CHECK(cc["mcpServers"]["datafast"]["type"] == "http");
    const json gem = json::parse(rendered(http_request("gemini")));
    // Gemini CLI reads `url` as SSE: Streamable HTTP is `httpUrl`, with no type.
    CHECK(gem["mcpServers"]["datafast"]["httpUrl"] == kUrl);
    CHECK_FALSE(gem["mcpServers"]["datafast"].contains("url"));
    CHECK_FALSE(gem["mcpServers"]["datafast"].contains("type"));
    const json cur = json::parse(rendered(http_request("cursor")));
    CHECK_FALSE(cur["mcpServers"]["datafast"].contains("type"));

    const json vs = json::parse(rendered(stdio_request("vscode")));
    CHECK(vs["servers"]["datafast"]["type"] == "stdio");
    CHECK(vs["inputs"] == json::parse(R"js([{"type": "promptString", "id": "datafast-token",
        "description": "DataFast account token for datafast-mcp (DATAFAST_TOKEN)",
        "password": true}])js"));
    const json vsh = json::parse(rendered(http_request("vscode")));
    CHECK(vsh["servers"]["datafast"]["type"] == "http");
    CHECK(vsh["inputs"][0]["id"] == "datafast-mcp-http-token");
    CHECK(vsh["inputs"][0]["password"] == true);
  }

  TEST_CASE("the Claude Code snippet is pretty-printed JSON in the documented key order") {
    Request r = stdio_request("claude-code");
    r.config.reset();
    CHECK(rendered(r) == R"({
  "mcpServers": {
    "datafast": {
      "type": "stdio",
      "command": "C:\\Program Files\\datafast-mcp\\datafast-mcp.exe",
      "args": [
        "--permissions",
        "analytics:read,websites:read",
        "--websites",
        "*"
      ],
      "env": {
        "DATAFAST_TOKEN": "${DATAFAST_TOKEN}"
      }
    }
  }
}
)");
  }

  TEST_CASE("Zed snippets open with a comment saying where the token comes from") {
    const std::string out = rendered(stdio_request("zed"));
    CHECK(out.rfind("// Zed expands no variables", 0) == 0);
    const std::string http = rendered(http_request("zed"));
    CHECK(http.rfind("// Zed sends headers verbatim", 0) == 0);
  }

  TEST_CASE("the Codex snippet is TOML with basic strings and env_vars") {
    CHECK(rendered(stdio_request("codex")) ==
          R"([mcp_servers.datafast]
command = "C:\\Program Files\\datafast-mcp\\datafast-mcp.exe"
args = ["--config", "C:\\Users\\Zoë \"Z\"\\datafast config.json", "--permissions", "analytics:read,websites:read", "--websites", "*"]
env_vars = ["DATAFAST_TOKEN"]
)");
    CHECK(rendered(http_request("codex")) == R"([mcp_servers.datafast]
url = "http://127.0.0.1:8787/mcp"
bearer_token_env_var = "DATAFAST_MCP_HTTP_TOKEN"
)");
  }

  TEST_CASE("TOML and YAML escape control characters and line separators") {
    Request r;
    r.binary = "/opt/a\tb/\x01/datafast-mcp";
    r.extra_args = {"x\ny", "\xE2\x80\xA8", "back\\slash"};
    r.client = "codex";
    CHECK(rendered(r) == "[mcp_servers.datafast]\n"
                         "command = \"/opt/a\\tb/\\u0001/datafast-mcp\"\n"
                         "args = [\"x\\ny\", \"\xE2\x80\xA8\", \"back\\\\slash\"]\n"
                         "env_vars = [\"DATAFAST_TOKEN\"]\n");
    r.client = "continue";
    const std::string yaml = rendered(r);
    CHECK(yaml.find(R"(command: "/opt/a\tb/\x01/datafast-mcp")") != std::string::npos);
    CHECK(yaml.find(R"(- "x\ny")") != std::string::npos);
    CHECK(yaml.find(R"(- "\L")") != std::string::npos);
    CHECK(yaml.find(R"(- "back\\slash")") != std::string::npos);
  }

  TEST_CASE("the Continue snippet is a YAML block with a secrets reference") {
    CHECK(rendered(stdio_request("continue")) == R"(name: datafast-mcp
version: 0.0.1
schema: v1
mcpServers:
  - name: "datafast"
    type: stdio
    command: "C:\\Program Files\\datafast-mcp\\datafast-mcp.exe"
    args:
      - "--config"
      - "C:\\Users\\Zoë \"Z\"\\datafast config.json"
      - "--permissions"
      - "analytics:read,websites:read"
      - "--websites"
      - "*"
    env:
      DATAFAST_TOKEN: "${{ secrets.DATAFAST_TOKEN }}"
)");
    CHECK(rendered(http_request("continue")) == R"(name: datafast-mcp
version: 0.0.1
schema: v1
mcpServers:
  - name: "datafast"
    type: streamable-http
    url: "http://127.0.0.1:8787/mcp"
    requestOptions:
      headers:
        Authorization: "Bearer ${{ secrets.DATAFAST_MCP_HTTP_TOKEN }}"
)");
  }

  TEST_CASE("the claude mcp add line splits back into the intended words") {
    SUBCASE("stdio, with a quote in a path") {
      Request r = stdio_request("claude-code-cli");
      r.config = "/home/o'brien/my cfg.json";
      const std::string out = rendered(r);
      CHECK(count(out, "'C:\\Program Files\\datafast-mcp\\datafast-mcp.exe'") == 1);
      // Undo the close-escape-reopen form of an embedded quote, then split.
      std::string line = out;
      for (size_t at = line.find("'\\''"); at != std::string::npos; at = line.find("'\\''"))
        line.replace(at, 4, std::string(1, '\x01'));
      std::vector<std::string> words = shell_words(line);
      for (auto &w : words)
        for (auto &ch : w)
          if (ch == '\x01')
            ch = '\'';
      CHECK(words == std::vector<std::string>{
                         "claude", "mcp", "add", "--scope", "project", "--transport", "stdio",
                         "datafast", "--env", "DATAFAST_TOKEN=${DATAFAST_TOKEN}", "--", kWinBinary,
                         "--config", "/home/o'brien/my cfg.json", "--permissions",
                         "analytics:read,websites:read", "--websites", "*"});
    }
    SUBCASE("http") {
      CHECK(shell_words(rendered(http_request("claude-code-cli"))) ==
            std::vector<std::string>{"claude", "mcp", "add", "--scope", "project", "--transport",
                                     "http", "datafast", kUrl, "--header",
                                     "Authorization: Bearer ${DATAFAST_MCP_HTTP_TOKEN}"});
    }
  }

  TEST_CASE("paths with unicode and spaces survive every JSON client") {
    Request r;
    r.binary = "/Users/zoë/Applications/Data Fast ✓/datafast-mcp";
    for (const auto &c : kJsonClients) {
      CAPTURE(c.name);
      r.client = c.name;
      const json doc = json::parse(rendered(r), nullptr, true, true);
      CHECK(doc.at(c.top).at("datafast").at("command") == r.binary);
    }
  }

  TEST_CASE("--sandbox needs no token and another token variable is passed on") {
    Request r = stdio_request("cursor");
    r.extra_args = {"--sandbox", "--permissions", "analytics:read", "--websites", "*"};
    json doc = json::parse(rendered(r));
    CHECK_FALSE(doc["mcpServers"]["datafast"].contains("env"));

    r = stdio_request("codex");
    r.token_env = "MY_DFT";
    const std::string toml = rendered(r);
    CHECK(toml.find(R"("--token-env", "MY_DFT"])") != std::string::npos);
    CHECK(toml.find(R"(env_vars = ["MY_DFT"])") != std::string::npos);
  }

  TEST_CASE("--docker: the container form for every client - the token by name - the config mounted read-only") {
    for (const dfmcp::print_config::ClientSpec &c : dfmcp::print_config::clients()) {
      CAPTURE(c.name);
      Request r = stdio_request(c.name);
      r.docker_image = "ghcr.io/example/datafast-mcp:1.0";
      const std::string text = rendered(r);
      CHECK(text.find("docker") != std::string::npos);
      CHECK(text.find("ghcr.io/example/datafast-mcp:1.0") != std::string::npos);
      CHECK(text.find("/usr/bin/datafast-mcp") == std::string::npos);
    }
    Request r = stdio_request("cursor");
    r.docker_image = "datafast-mcp:latest";
    r.config = "/home/u/dfmcp.json";
    const json j = json::parse(rendered(r))["mcpServers"]["datafast"];
    CHECK(j["command"] == "docker");
    CHECK(j["args"] == json{"run", "-i", "--rm", "-e", "DATAFAST_TOKEN", "-v",
                            "/home/u/dfmcp.json:/etc/datafast-mcp/config.json:ro", "datafast-mcp:latest",
                            "--config", "/etc/datafast-mcp/config.json", "--permissions",
                            "analytics:read,websites:read", "--websites", "*"});
    CHECK(j["env"]["DATAFAST_TOKEN"] == "${env:DATAFAST_TOKEN}");
    r.docker_image = "--privileged";
    CHECK(render(r).error().starts_with("image '--privileged': use an image reference"));
    r.docker_image = "img";
    r.http_url = kUrl;
    CHECK(render(r).error().find("give one of them") != std::string::npos);
  }

  TEST_CASE("codex mcp add and gemini mcp add one-liners") {
    auto posix = [](const std::string &client) {
      Request p = stdio_request(client);
      p.binary = "/usr/bin/datafast-mcp";
      p.config.reset();
      return p;
    };
    Request r = posix("codex-cli");
    CHECK(rendered(r) == "codex mcp add datafast -- /usr/bin/datafast-mcp --permissions "
                         "analytics:read,websites:read --websites '*'\n"
                         "# then, under [mcp_servers.datafast] in ~/.codex/config.toml: env_vars = "
                         "[\"DATAFAST_TOKEN\"]\n");
    r = http_request("codex-cli");
    CHECK(rendered(r) == "codex mcp add datafast --url " + std::string(kUrl) +
                             " --bearer-token-env-var DATAFAST_MCP_HTTP_TOKEN\n");
    r = posix("gemini-cli");
    CHECK(rendered(r) == "gemini mcp add --scope project -e 'DATAFAST_TOKEN=$DATAFAST_TOKEN' datafast "
                         "/usr/bin/datafast-mcp -- --permissions analytics:read,websites:read --websites '*'\n");
    r = http_request("gemini-cli");
    CHECK(rendered(r) == "gemini mcp add --scope project --transport http --header 'Authorization: Bearer "
                         "${DATAFAST_MCP_HTTP_TOKEN}' datafast " + std::string(kUrl) + "\n");
  }

  TEST_CASE("refusals name the problem and what is allowed") {
    Request r = stdio_request("notepad");
    CHECK(render(r).error() ==
          "unknown client 'notepad'; known clients: claude-desktop, claude-code, "
          "claude-code-cli, cursor, vscode, windsurf, codex, codex-cli, gemini, gemini-cli, zed, continue");
    r = http_request("claude-desktop");
    CHECK(render(r).error() ==
          "Claude Desktop cannot connect to a Streamable HTTP server from its config; use stdio, "
          "or one of the clients with HTTP: claude-code, claude-code-cli, cursor, vscode, "
          "windsurf, codex, codex-cli, gemini, gemini-cli, zed, continue");
    r = stdio_request("cursor");
    r.binary = "bin/datafast-mcp";
    CHECK(render(r).error() == "binary 'bin/datafast-mcp': use an absolute path; clients start "
                               "servers from a working directory of their own");
    r = stdio_request("cursor");
    r.token_env = "DATAFAST-TOKEN";
    CHECK(render(r).error() == "token variable 'DATAFAST-TOKEN' is not an environment variable name");
    r = http_request("cursor");
    r.http_url = "ftp://127.0.0.1/mcp";
    CHECK(render(r).error() == "http url 'ftp://127.0.0.1/mcp': use an http:// or https:// URL "
                               "with a host, without spaces or quotes");
    r = stdio_request("cursor");
    r.binary = "/opt/\xC3\x28/datafast-mcp";
    CHECK(render(r).error() == "binary: not valid UTF-8");
    r = stdio_request("cursor");
    r.server_name = "data fast";
    CHECK(render(r).error() == "server name 'data fast': use 1 to 64 letters, digits, '_' or '-'");
  }

#ifdef DFMCP_SOURCE_DIR
  TEST_CASE("the files in agent-configs/ are what print-config prints for them") {
    struct Case {
      std::string client, file;
      bool http;
    };
    const std::vector<Case> cases = {
        {"claude-desktop", "claude-desktop/stdio/claude_desktop_config.json", false},
        {"claude-code", "claude-code/stdio/.mcp.json", false},
        {"claude-code", "claude-code/http/.mcp.json", true},
        {"cursor", "cursor/stdio/.cursor/mcp.json", false},
        {"cursor", "cursor/http/.cursor/mcp.json", true},
        {"vscode", "vscode/stdio/.vscode/mcp.json", false},
        {"vscode", "vscode/http/.vscode/mcp.json", true},
        {"windsurf", "windsurf/stdio/mcp_config.json", false},
        {"windsurf", "windsurf/http/mcp_config.json", true},
        {"codex", "codex/stdio/.codex/config.toml", false},
        {"codex", "codex/http/.codex/config.toml", true},
        {"gemini", "gemini/stdio/.gemini/settings.json", false},
        {"gemini", "gemini/http/.gemini/settings.json", true},
        {"zed", "zed/stdio/settings.json", false},
        {"zed", "zed/http/settings.json", true},
        {"continue", "continue/stdio/.continue/mcpServers/datafast.yaml", false},
        {"continue", "continue/http/.continue/mcpServers/datafast.yaml", true},
    };
    for (const auto &c : cases) {
      CAPTURE(c.file);
      Request r;
      r.client = c.client;
      r.binary = "/usr/bin/datafast-mcp";
      r.extra_args = kCeilingArgs;
      if (c.http)
        r.http_url = kUrl;
      CHECK(without_leading_comments(rendered(r)) == without_leading_comments(read_file(c.file)));
    }
    const std::string md = read_file("claude-code/claude-mcp-add.md");
    Request r;
    r.client = "claude-code-cli";
    r.binary = "/usr/bin/datafast-mcp";
    r.extra_args = kCeilingArgs;
    CHECK(md.find(rendered(r)) != std::string::npos);
    r.http_url = kUrl;
    CHECK(md.find(rendered(r)) != std::string::npos);
  }
#endif
}
