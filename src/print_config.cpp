#include "print_config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string_view>

namespace dfmcp::print_config {

namespace {

// Insertion-ordered, so keys come out in the order each client's documentation shows them.
using ojson = nlohmann::ordered_json;

constexpr std::string_view kDefaultTokenEnv = "DATAFAST_TOKEN";

// ---- checks ---------------------------------------------------------------------------------

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size())
      return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u)
        return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// POSIX "/...", Windows "C:\..." or "C:/...", or a UNC path "\\server\share\...".
bool is_absolute_path(std::string_view p) {
  if (p.empty())
    return false;
  if (p[0] == '/')
    return true;
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (p.size() >= 3 && letter(p[0]) && p[1] == ':' && (p[2] == '\\' || p[2] == '/'))
    return true;
  return p.size() >= 3 && p[0] == '\\' && p[1] == '\\' && p[2] != '\\';
}

bool valid_env_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || (s[0] >= '0' && s[0] <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Every client accepts these as a server key without quoting surprises (VS Code asks for no
// spaces; a TOML bare key takes letters, digits, '_' and '-').
bool valid_server_name(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool valid_http_url(std::string_view u) {
  const auto after_scheme = [&](std::string_view scheme) -> std::string_view {
    if (u.size() > scheme.size() && u.substr(0, scheme.size()) == scheme)
      return u.substr(scheme.size());
    return {};
  };
  std::string_view rest = after_scheme("http://");
  if (rest.empty())
    rest = after_scheme("https://");
  if (rest.empty() || rest[0] == '/')
    return false;
  return std::none_of(u.begin(), u.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '"' || c == '\'' || c == '\\';
  });
}

// ---- escaping -------------------------------------------------------------------------------

std::string hex(unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*X", digits, value);
  return buf;
}

// POSIX shell: bare when every byte is in a set no shell treats specially, else single quotes
// (inside which only the quote itself needs the close-escape-reopen dance).
std::string shell_quote(std::string_view s) {
  const bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("_-./:,=@%+").find(c) != std::string_view::npos;
  });
  if (bare)
    return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

// A TOML basic string ("..."): backslash, quote and control characters escaped; UTF-8 as is.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\f': out += "\\f"; break;
    case '\r': out += "\\r"; break;
    default:
      if (u < 0x20 || u == 0x7F)
        out += "\\u" + hex(u, 4);
      else
        out += c;
    }
  }
  out += '"';
  return out;
}

// A YAML double-quoted scalar. Besides backslash, quote and control characters, the characters
// YAML 1.1 parsers (PyYAML, js-yaml's legacy mode) read as line breaks are escaped: NEL, LS, PS.
std::string yaml_string(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7F) {
      out += "\\x" + hex(u, 2);
    } else if (u == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) {
      out += "\\N";
      ++i;
    } else if (u == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\L" : "\\P";
      i += 2;
    } else if (u == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBB &&
               static_cast<unsigned char>(s[i + 2]) == 0xBF) {
      out += "\\uFEFF";
      i += 2;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string dump(const ojson &j) { return j.dump(2, ' ', false) + "\n"; }

// ---- what every stdio snippet starts ---------------------------------------------------------

struct Launch {
  std::string command;
  std::vector<std::string> args;
  bool needs_token = true; // false under --sandbox: no parent token is read
};

Launch launch_of(const Request &r) {
  Launch l;
  const auto has = [&](std::string_view flag) {
    return std::any_of(r.extra_args.begin(), r.extra_args.end(), [&](const std::string &a) {
      return a == flag || a.rfind(std::string(flag) + "=", 0) == 0;
    });
  };
  l.command = r.binary;
  std::string config_arg = r.config.value_or("");
  if (r.docker_image) {
    // The client starts `docker`; the token passes by name (-e NAME copies the client's value),
    // the config file is mounted read-only, the image's entrypoint is the server.
    l.command = "docker";
    l.args = {"run", "-i", "--rm"};
    if (!has("--sandbox")) {
      l.args.push_back("-e");
      l.args.push_back(r.token_env);
    }
    if (r.config) {
      l.args.push_back("-v");
      l.args.push_back(*r.config + ":" + kContainerConfigPath + ":ro");
      config_arg = kContainerConfigPath;
    }
    l.args.push_back(*r.docker_image);
  }
  if (r.config) {
    l.args.push_back("--config");
    l.args.push_back(config_arg);
  }
  l.args.insert(l.args.end(), r.extra_args.begin(), r.extra_args.end());
  // The snippet passes the token under r.token_env; tell the server to read it there.
  if (r.token_env != kDefaultTokenEnv && !has("--token-env")) {
    l.args.push_back("--token-env");
    l.args.push_back(r.token_env);
  }
  l.needs_token = !has("--sandbox");
  return l;
}

ojson args_json(const Launch &l) {
  ojson a = ojson::array();
  for (const auto &s : l.args)
    a.push_back(s);
  return a;
}

// The value a client with no variable expansion gets instead of a secret.
std::string placeholder(std::string_view env) { return "<value of " + std::string(env) + ">"; }

// VS Code input ids: the variable's name, lowercase, '-' for '_'.
std::string input_id(std::string_view env) {
  std::string id;
  for (char c : env)
    id += c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return id;
}

// ---- per client ------------------------------------------------------------------------------

// JSON clients whose stdio entry is {command, args, env} under a top-level map, the token given
// as `ref(name)` in env, and whose HTTP entry is {url_key: url, headers}.
struct JsonShape {
  std::string top;                                 // "mcpServers", "servers", "context_servers"
  std::optional<std::string> stdio_type;           // "type": "stdio" first, when the client has it
  std::optional<std::string> http_type;            // "type": "http" first, when the client needs it
  std::string url_key = "url";                     // Windsurf: "serverUrl"
  std::function<std::string(std::string_view)> ref; // the client's env reference syntax
};

std::string json_stdio(const JsonShape &shape, const Request &r) {
  const Launch l = launch_of(r);
  ojson server;
  if (shape.stdio_type)
    server["type"] = *shape.stdio_type;
  server["command"] = l.command;
  server["args"] = args_json(l);
  if (l.needs_token)
    server["env"] = ojson{{r.token_env, shape.ref(r.token_env)}};
  ojson doc;
  doc[shape.top] = ojson{{r.server_name, server}};
  return dump(doc);
}

std::string json_http(const JsonShape &shape, const Request &r) {
  ojson server;
  if (shape.http_type)
    server["type"] = *shape.http_type;
  server[shape.url_key] = *r.http_url;
  server["headers"] = ojson{{"Authorization", "Bearer " + shape.ref(r.http_token_env)}};
  ojson doc;
  doc[shape.top] = ojson{{r.server_name, server}};
  return dump(doc);
}

std::string dollar_brace(std::string_view env) { return "${" + std::string(env) + "}"; }
std::string env_colon(std::string_view env) { return "${env:" + std::string(env) + "}"; }

const JsonShape kClaudeCode{"mcpServers", "stdio", "http", "url", dollar_brace};
const JsonShape kCursor{"mcpServers", "stdio", std::nullopt, "url", env_colon};
const JsonShape kWindsurf{"mcpServers", std::nullopt, std::nullopt, "serverUrl", env_colon};
const JsonShape kGeminiStdio{"mcpServers", std::nullopt, std::nullopt, "url",
                             [](std::string_view env) { return "$" + std::string(env); }};
// Gemini CLI: `httpUrl` is Streamable HTTP (`url` would be SSE, which this server does not serve).
const JsonShape kGeminiHttp{"mcpServers", std::nullopt, std::nullopt, "httpUrl", dollar_brace};
const JsonShape kClaudeDesktop{"mcpServers", std::nullopt, std::nullopt, "url", placeholder};

std::string vscode(const Request &r) {
  ojson inputs = ojson::array();
  ojson server;
  if (r.http_url) {
    const std::string id = input_id(r.http_token_env);
    inputs.push_back(ojson{{"type", "promptString"},
                           {"id", id},
                           {"description", "Bearer token of the datafast-mcp HTTP endpoint (" +
                                               r.http_token_env + ")"},
                           {"password", true}});
    server["type"] = "http";
    server["url"] = *r.http_url;
    server["headers"] = ojson{{"Authorization", "Bearer ${input:" + id + "}"}};
  } else {
    const Launch l = launch_of(r);
    server["type"] = "stdio";
    server["command"] = l.command;
    server["args"] = args_json(l);
    if (l.needs_token) {
      const std::string id = input_id(r.token_env);
      inputs.push_back(ojson{{"type", "promptString"},
                             {"id", id},
                             {"description", "DataFast account token for datafast-mcp (" +
                                                 r.token_env + ")"},
                             {"password", true}});
      server["env"] = ojson{{r.token_env, "${input:" + id + "}"}};
    }
  }
  ojson doc;
  doc["inputs"] = inputs;
  doc["servers"] = ojson{{r.server_name, server}};
  return dump(doc);
}

std::string zed(const Request &r) {
  ojson server;
  std::string note;
  if (r.http_url) {
    server["url"] = *r.http_url;
    server["headers"] = ojson{{"Authorization", "Bearer " + placeholder(r.http_token_env)}};
    note = "// Zed sends headers verbatim (it expands no variables): replace the placeholder with the\n"
           "// value of $" + r.http_token_env +
           " in your user settings, never in a committed .zed/settings.json.\n";
  } else {
    const Launch l = launch_of(r);
    server["command"] = l.command;
    server["args"] = args_json(l);
    if (l.needs_token)
      note = "// Zed expands no variables in settings: datafast-mcp inherits " + r.token_env +
             " from Zed's own\n// environment (start Zed from a shell that exports it).\n";
  }
  ojson doc;
  doc["context_servers"] = ojson{{r.server_name, server}};
  return note + dump(doc);
}

std::string toml_key(std::string_view k) { return valid_server_name(k) ? std::string(k) : toml_string(k); }

std::string codex(const Request &r) {
  std::string out = "[mcp_servers." + toml_key(r.server_name) + "]\n";
  if (r.http_url) {
    out += "url = " + toml_string(*r.http_url) + "\n";
    out += "bearer_token_env_var = " + toml_string(r.http_token_env) + "\n";
    return out;
  }
  const Launch l = launch_of(r);
  out += "command = " + toml_string(l.command) + "\n";
  out += "args = [";
  for (size_t i = 0; i < l.args.size(); ++i)
    out += (i ? ", " : "") + toml_string(l.args[i]);
  out += "]\n";
  // Codex starts servers with a short allow-list of variables; env_vars forwards these by name.
  if (l.needs_token)
    out += "env_vars = [" + toml_string(r.token_env) + "]\n";
  return out;
}

std::string continue_yaml(const Request &r) {
  std::string out = "name: datafast-mcp\nversion: 0.0.1\nschema: v1\nmcpServers:\n";
  out += "  - name: " + yaml_string(r.server_name) + "\n";
  if (r.http_url) {
    out += "    type: streamable-http\n";
    out += "    url: " + yaml_string(*r.http_url) + "\n";
    out += "    requestOptions:\n      headers:\n";
    out += "        Authorization: " +
           yaml_string("Bearer ${{ secrets." + r.http_token_env + " }}") + "\n";
    return out;
  }
  const Launch l = launch_of(r);
  out += "    type: stdio\n";
  out += "    command: " + yaml_string(l.command) + "\n";
  out += "    args:";
  if (l.args.empty())
    out += " []";
  out += "\n";
  for (const auto &a : l.args)
    out += "      - " + yaml_string(a) + "\n";
  if (l.needs_token) {
    out += "    env:\n";
    out += "      " + r.token_env + ": " + yaml_string("${{ secrets." + r.token_env + " }}") + "\n";
  }
  return out;
}

// `claude mcp add`: options and the name first, then `--` so that nothing after it (the server's
// own flags) is read as an option of `claude`. The ${VAR} reference is single-quoted so the shell
// leaves it for Claude Code to expand when it loads .mcp.json.
std::string claude_code_cli(const Request &r) {
  std::string out = "claude mcp add --scope project";
  if (r.http_url) {
    out += " --transport http " + shell_quote(r.server_name) + " " + shell_quote(*r.http_url) +
           " --header " + shell_quote("Authorization: Bearer ${" + r.http_token_env + "}");
    return out + "\n";
  }
  const Launch l = launch_of(r);
  out += " --transport stdio " + shell_quote(r.server_name);
  if (l.needs_token)
    out += " --env " + shell_quote(r.token_env + "=${" + r.token_env + "}");
  out += " -- " + shell_quote(l.command);
  for (const auto &a : l.args)
    out += " " + shell_quote(a);
  return out + "\n";
}

// `codex mcp add NAME [--url URL --bearer-token-env-var VAR | -- COMMAND ARGS...]`. Its --env
// stores a literal value, so the stdio token is forwarded by name with env_vars instead, which
// the command cannot set: a second line says where to add it.
std::string codex_cli(const Request &r) {
  std::string out = "codex mcp add " + shell_quote(r.server_name);
  if (r.http_url)
    return out + " --url " + shell_quote(*r.http_url) + " --bearer-token-env-var " + shell_quote(r.http_token_env) +
           "\n";
  const Launch l = launch_of(r);
  out += " -- " + shell_quote(l.command);
  for (const auto &a : l.args)
    out += " " + shell_quote(a);
  out += "\n";
  if (l.needs_token)
    out += "# then, under [mcp_servers." + toml_key(r.server_name) + "] in ~/.codex/config.toml: env_vars = [" +
           toml_string(r.token_env) + "]\n";
  return out;
}

// `gemini mcp add [options] NAME COMMAND_OR_URL [-- ARGS...]`: -e and -H values single-quoted so
// the $VAR reference is stored and Gemini CLI expands it when it loads settings.json; `--`
// keeps the server's own flags from being read as gemini's.
std::string gemini_cli(const Request &r) {
  std::string out = "gemini mcp add --scope project";
  if (r.http_url)
    return out + " --transport http --header " + shell_quote("Authorization: Bearer ${" + r.http_token_env + "}") +
           " " + shell_quote(r.server_name) + " " + shell_quote(*r.http_url) + "\n";
  const Launch l = launch_of(r);
  if (l.needs_token)
    out += " -e " + shell_quote(r.token_env + "=$" + r.token_env);
  out += " " + shell_quote(r.server_name) + " " + shell_quote(l.command);
  if (!l.args.empty()) {
    out += " --";
    for (const auto &a : l.args)
      out += " " + shell_quote(a);
  }
  return out + "\n";
}

struct Client {
  ClientSpec spec;
  std::function<std::string(const Request &)> stdio;
  std::function<std::string(const Request &)> http; // empty: no HTTP support
};

const std::vector<Client> &table() {
  static const std::vector<Client> t = {
      {{"claude-desktop", "Claude Desktop", true, false,
        "macOS: ~/Library/Application Support/Claude/claude_desktop_config.json; Windows: "
        "%APPDATA%\\Claude\\claude_desktop_config.json",
        "no variable expansion and no shell environment: replace the placeholder in this "
        "per-user file, or install the MCPB bundle (the token then lives in the OS keychain)"},
       [](const Request &r) { return json_stdio(kClaudeDesktop, r); }, nullptr},
      {{"claude-code", "Claude Code", true, true,
        ".mcp.json in the project root (project scope, meant to be committed)",
        "${VAR} in command, args, env, url and headers, expanded from Claude Code's environment"},
       [](const Request &r) { return json_stdio(kClaudeCode, r); },
       [](const Request &r) { return json_http(kClaudeCode, r); }},
      {{"claude-code-cli", "Claude Code (claude mcp add)", true, true,
        "run in a POSIX shell (bash, zsh) in the project directory; it writes .mcp.json",
        "the single-quoted ${VAR} is stored as is and expanded by Claude Code"},
       claude_code_cli, claude_code_cli},
      {{"cursor", "Cursor", true, true, ".cursor/mcp.json in the project, or ~/.cursor/mcp.json",
        "${env:VAR} in command, args, env, url and headers"},
       [](const Request &r) { return json_stdio(kCursor, r); },
       [](const Request &r) { return json_http(kCursor, r); }},
      {{"vscode", "VS Code", true, true,
        ".vscode/mcp.json in the workspace, or the user mcp.json (command \"MCP: Open User "
        "Configuration\")",
        "an `inputs` prompt with \"password\": true; VS Code asks once and stores the value "
        "encrypted"},
       vscode, vscode},
      {{"windsurf", "Windsurf", true, true,
        "~/.codeium/windsurf/mcp_config.json (Windows: "
        "%USERPROFILE%\\.codeium\\windsurf\\mcp_config.json)",
        "${env:VAR} in command, args, env, serverUrl, url and headers"},
       [](const Request &r) { return json_stdio(kWindsurf, r); },
       [](const Request &r) { return json_http(kWindsurf, r); }},
      {{"codex", "Codex CLI", true, true,
        "~/.codex/config.toml (or .codex/config.toml in a trusted project)",
        "env_vars forwards the named variables (stdio); bearer_token_env_var names the bearer "
        "token's variable (HTTP)"},
       codex, codex},
      {{"codex-cli", "Codex CLI (codex mcp add)", true, true,
        "run in a POSIX shell; it writes ~/.codex/config.toml",
        "stdio: add the printed env_vars line, so Codex forwards the variable by name; HTTP: "
        "--bearer-token-env-var names the bearer token's variable"},
       codex_cli, codex_cli},
      {{"gemini", "Gemini CLI", true, true,
        "~/.gemini/settings.json, or .gemini/settings.json in the project",
        "$VAR / ${VAR} in settings strings; an env entry is required, since Gemini CLI strips "
        "*TOKEN* variables from what servers inherit"},
       [](const Request &r) { return json_stdio(kGeminiStdio, r); },
       [](const Request &r) { return json_http(kGeminiHttp, r); }},
      {{"gemini-cli", "Gemini CLI (gemini mcp add)", true, true,
        "run in a POSIX shell in the project directory; it writes .gemini/settings.json",
        "the single-quoted $VAR is stored as is and expanded by Gemini CLI"},
       gemini_cli, gemini_cli},
      {{"zed", "Zed", true, true,
        "~/.config/zed/settings.json (Windows: %APPDATA%\\Zed\\settings.json), key "
        "context_servers",
        "no variable expansion: stdio inherits the token from Zed's environment; HTTP headers "
        "are literal (a placeholder to replace in user settings)"},
       zed, zed},
      {{"continue", "Continue", true, true,
        ".continue/mcpServers/datafast.yaml in the workspace, or ~/.continue/mcpServers/",
        "${{ secrets.VAR }}, read from Continue Hub secrets or ~/.continue/.env, "
        "<workspace>/.continue/.env, <workspace>/.env"},
       continue_yaml, continue_yaml},
  };
  return t;
}

// A value quoted in an error message; a message is always valid UTF-8.
std::string shown(std::string_view s) {
  return valid_utf8(s) ? std::string(s) : std::string("(not valid UTF-8)");
}

std::string join_names(bool http_only) {
  std::string out;
  for (const auto &c : table()) {
    if (http_only && !c.http)
      continue;
    out += (out.empty() ? "" : ", ") + c.spec.name;
  }
  return out;
}

} // namespace

const std::vector<ClientSpec> &clients() {
  static const std::vector<ClientSpec> specs = [] {
    std::vector<ClientSpec> v;
    for (const auto &c : table())
      v.push_back(c.spec);
    return v;
  }();
  return specs;
}

Expected<std::string, std::string> render(const Request &r) {
  const auto it = std::find_if(table().begin(), table().end(),
                               [&](const Client &c) { return c.spec.name == r.client; });
  if (it == table().end())
    return unexpected("unknown client '" + shown(r.client) + "'; known clients: " + join_names(false));
  if (r.http_url && !it->http)
    return unexpected(it->spec.title + " cannot connect to a Streamable HTTP server from its "
                      "config; use stdio, or one of the clients with HTTP: " + join_names(true));

  if (!valid_server_name(r.server_name))
    return unexpected("server name '" + shown(r.server_name) +
                      "': use 1 to 64 letters, digits, '_' or '-'");
  if (!valid_env_name(r.token_env))
    return unexpected("token variable '" + shown(r.token_env) + "' is not an environment variable name");
  if (!valid_env_name(r.http_token_env))
    return unexpected("bearer token variable '" + shown(r.http_token_env) +
                      "' is not an environment variable name");
  // Invalid UTF-8 is refused before anything is echoed, so every message is valid UTF-8 too.
  if (r.http_url) {
    if (!valid_utf8(*r.http_url))
      return unexpected(std::string("http url: not valid UTF-8"));
    if (!valid_http_url(*r.http_url))
      return unexpected("http url '" + *r.http_url +
                        "': use an http:// or https:// URL with a host, without spaces or quotes");
    if (r.docker_image)
      return unexpected(std::string("--docker starts the server in a container and --http connects to a running "
                                    "one: give one of them"));
    return it->http(r);
  }
  if (r.docker_image) {
    const std::string &image = *r.docker_image;
    bool ok = !image.empty() && image.size() <= 255 && image[0] != '-' &&
              std::all_of(image.begin(), image.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("._-/:@").find(c) != std::string_view::npos;
              });
    if (!ok)
      return unexpected("image '" + shown(image) + "': use an image reference such as "
                        "ghcr.io/OWNER/datafast-mcp:TAG (letters, digits, . _ - / : @)");
  }
  if (!r.docker_image && !valid_utf8(r.binary))
    return unexpected(std::string("binary: not valid UTF-8"));
  if (!r.docker_image && !is_absolute_path(r.binary))
    return unexpected("binary '" + r.binary +
                      "': use an absolute path; clients start servers from a working directory "
                      "of their own");
  if (r.config && !valid_utf8(*r.config))
    return unexpected(std::string("config: not valid UTF-8"));
  if (r.config && !is_absolute_path(*r.config))
    return unexpected("config '" + *r.config + "': use an absolute path");
  for (size_t i = 0; i < r.extra_args.size(); ++i)
    if (!valid_utf8(r.extra_args[i]))
      return unexpected("server argument " + std::to_string(i + 1) + ": not valid UTF-8");
  return it->stdio(r);
}

} // namespace dfmcp::print_config
