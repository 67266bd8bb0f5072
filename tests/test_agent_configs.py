#!/usr/bin/env python3
"""Every file in agent-configs/ is checked as the client it is written for reads it, then used.

For each client file: parse it (JSON, TOML with tomllib, YAML with PyYAML, or the shell lines of
claude-code/claude-mcp-add.md), check the shape that client reads (required keys, types, no keys
it does not know, no literal dft_ token), and resolve its variable references the way the client
does, to test values. A stdio entry is then launched with BINARY in place of its command, against
a `datafast-mcp sandbox` (DATAFAST_API_URL and DATAFAST_CA_FILE added to the child's
environment), and must answer initialize and list the 5 tools. An HTTP entry must get 200 and an
Mcp-Session-Id for an initialize POSTed, with the headers the client would send, to a datafast-mcp
serving Streamable HTTP on a loopback port of its choosing. The example server configs (ceilings/,
http-shared-service.json) must pass `datafast-mcp check`. README.md must list every file.

Loopback only, port 0, no sleeps: the test reads its children's output lines; timeouts are guards.

usage: test_agent_configs.py SOURCE_DIR BINARY
"""
import json
import os
import pathlib
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request

import yaml
import child_lines

SRC = pathlib.Path(sys.argv[1]).resolve()
BINARY = str(pathlib.Path(sys.argv[2]).resolve())
ROOT = SRC / "agent-configs"
PLACEHOLDER_BINARY = "/usr/bin/datafast-mcp"
LITERAL_TOKEN = re.compile(r"dft_[A-Za-z0-9_-]{6,}")
GUARD = child_lines.GUARD
TOOLS = {"list_access_tokens", "create_access_token", "revoke_access_token", "get_token_ceiling",
         "list_websites"}

failures = []
failed_files = set()
checked = {"stdio": 0, "http": 0, "files": 0, "server configs": 0}


def fail(where, msg):
    failures.append(f"{where}: {msg}")
    failed_files.add(where)
    print(f"FAIL: {where}: {msg}", flush=True)


class Problem(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Problem(msg)


# ---- the values a user would have in their environment / typed into a prompt ----------------

VALUES = {}  # filled once the sandbox is up: DATAFAST_TOKEN, DATAFAST_MCP_HTTP_TOKEN


def substitute(pattern, text, name_of, where):
    """Replaces every match of pattern in text by VALUES[name_of(match)]; returns (text, count)."""
    count = 0

    def one(m):
        nonlocal count
        name = name_of(m)
        expect(name in VALUES, f"{where}: reference to {name}, which this client config should not need")
        count += 1
        return VALUES[name]

    return re.sub(pattern, one, text), count


# Each client's reference syntax: (regex, group -> variable name).
SYNTAX = {
    "claude": (r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", lambda m: m.group(1)),
    "env-colon": (r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: m.group(1)),
    "gemini": (r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
               lambda m: m.group(1) or m.group(2)),
    "continue": (r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", lambda m: m.group(1)),
    # VS Code: the user types the value at the prompt of input <id>; ids here are the variable
    # names in lowercase with '-' for '_'.
    "vscode": (r"\$\{input:([A-Za-z0-9_.-]+)\}", lambda m: m.group(1).upper().replace("-", "_")),
    # No expansion at all (Claude Desktop, Zed headers): a placeholder the user replaces.
    "placeholder": (r"<value of ([A-Za-z_][A-Za-z0-9_]*)>", lambda m: m.group(1)),
}
LEFTOVER = re.compile(r"\$\{|\$[A-Za-z_]|<value of")


def resolve(syntax, text, where):
    pattern, name_of = SYNTAX[syntax]
    out, n = substitute(pattern, text, name_of, where)
    expect(not LEFTOVER.search(out), f"{where}: unresolved reference left in {text!r}")
    return out, n


class Entry:
    """One server entry, as the client would run it."""

    def __init__(self, where, kind):
        self.where = where
        self.kind = kind          # "stdio" or "http"
        self.command = None
        self.args = []
        self.env = {}             # resolved: what the client puts in the child's environment
        self.url = None
        self.headers = {}         # resolved
        self.references = 0       # how many secret references were resolved


def stdio_entry(where, server, syntax, env_key="env", passes=()):
    """A stdio entry from {command, args, env}; passes: variables the client forwards by name."""
    e = Entry(where, "stdio")
    expect(isinstance(server.get("command"), str), "command must be a string")
    expect(server["command"] == PLACEHOLDER_BINARY,
           f"command must be the placeholder {PLACEHOLDER_BINARY}, not {server['command']!r}")
    args = server.get("args", [])
    expect(isinstance(args, list) and all(isinstance(a, str) for a in args), "args must be a list of strings")
    expect("--config" not in args, "stdio entries start the server with flags only (no --config)")
    expect("--permissions" in args and "--websites" in args, "args must set --permissions and --websites")
    e.command, e.args = server["command"], list(args)
    env = server.get(env_key, {}) or {}
    expect(isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()),
           f"{env_key} must map names to strings")
    for k, v in env.items():
        e.env[k], n = resolve(syntax, v, where) if syntax else (v, 0)
        e.references += n
    for name in passes:
        e.env[name] = VALUES[name]
        e.references += 1
    sandbox = "--sandbox" in args
    expect(sandbox or e.references >= 1 and "DATAFAST_TOKEN" in e.env,
           "the token must reach the server through the client's variable mechanism")
    expect(not sandbox or "DATAFAST_TOKEN" not in env, "a --sandbox entry needs no token")
    return e


def http_entry(where, url, headers, syntax):
    e = Entry(where, "http")
    expect(isinstance(url, str) and url.startswith("http"), "the URL must be a string")
    expect(isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values()),
           "headers must map names to strings")
    e.url = url
    for k, v in headers.items():
        e.headers[k], n = resolve(syntax, v, where)
        e.references += n
    expect(e.references >= 1, "the bearer token must come from a reference, not a literal")
    expect(e.headers.get("Authorization") == "Bearer " + VALUES["DATAFAST_MCP_HTTP_TOKEN"],
           "Authorization must be 'Bearer ' + the HTTP token")
    return e


def only_keys(obj, allowed, what):
    extra = set(obj) - set(allowed)
    expect(not extra, f"{what}: keys this client does not read: {sorted(extra)}")


def one_server(servers, what):
    expect(isinstance(servers, dict) and len(servers) == 1, f"{what} must hold exactly one server")
    (name, server), = servers.items()
    expect(isinstance(server, dict), f"{what}.{name} must be an object")
    return name, server


# ---- one checker per client --------------------------------------------------------------------

def check_claude_desktop(path, text):
    doc = json.loads(text)
    only_keys(doc, {"mcpServers", "globalShortcut"}, "top level")
    name, s = one_server(doc.get("mcpServers"), "mcpServers")
    only_keys(s, {"command", "args", "env"}, name)  # stdio only: remote servers are connectors
    return [stdio_entry(str(path), s, "placeholder")]


def check_claude_code(path, text):
    doc = json.loads(text)
    only_keys(doc, {"mcpServers"}, "top level")
    name, s = one_server(doc.get("mcpServers"), "mcpServers")
    expect(s.get("type") in ("stdio", "http"), "type must be stdio or http")
    if s["type"] == "stdio":
        only_keys(s, {"type", "command", "args", "env"}, name)
        return [stdio_entry(str(path), s, "claude")]
    only_keys(s, {"type", "url", "headers"}, name)
    return [http_entry(str(path), s.get("url"), s.get("headers", {}), "claude")]


def check_cursor(path, text):
    doc = json.loads(text)
    only_keys(doc, {"mcpServers"}, "top level")
    name, s = one_server(doc.get("mcpServers"), "mcpServers")
    if "command" in s:
        only_keys(s, {"type", "command", "args", "env", "envFile"}, name)
        expect(s.get("type", "stdio") == "stdio", "type must be stdio")
        return [stdio_entry(str(path), s, "env-colon")]
    only_keys(s, {"url", "headers"}, name)
    return [http_entry(str(path), s.get("url"), s.get("headers", {}), "env-colon")]


def check_vscode(path, text):
    doc = json.loads(text)
    only_keys(doc, {"inputs", "servers"}, "top level")
    inputs = doc.get("inputs", [])
    expect(isinstance(inputs, list), "inputs must be a list")
    ids = set()
    for i in inputs:
        only_keys(i, {"type", "id", "description", "password", "default"}, "an input")
        expect(i.get("type") == "promptString" and isinstance(i.get("id"), str)
               and isinstance(i.get("description"), str), "inputs: type promptString, id, description")
        expect(i.get("password") is True, f"input {i.get('id')}: a secret is asked with \"password\": true")
        ids.add(i["id"])
    used = set(re.findall(r"\$\{input:([A-Za-z0-9_.-]+)\}", text))
    expect(used == ids, f"inputs {sorted(ids)} must be exactly those referenced {sorted(used)}")
    name, s = one_server(doc.get("servers"), "servers")
    expect(s.get("type") in ("stdio", "http"), "type must be stdio or http")
    if s["type"] == "stdio":
        only_keys(s, {"type", "command", "args", "env", "envFile"}, name)
        return [stdio_entry(str(path), s, "vscode")]
    only_keys(s, {"type", "url", "headers"}, name)
    return [http_entry(str(path), s.get("url"), s.get("headers", {}), "vscode")]


def check_windsurf(path, text):
    doc = json.loads(text)
    only_keys(doc, {"mcpServers"}, "top level")
    name, s = one_server(doc.get("mcpServers"), "mcpServers")
    if "command" in s:
        only_keys(s, {"command", "args", "env", "disabled"}, name)
        return [stdio_entry(str(path), s, "env-colon")]
    only_keys(s, {"serverUrl", "headers", "disabled"}, name)  # remote servers use serverUrl
    return [http_entry(str(path), s.get("serverUrl"), s.get("headers", {}), "env-colon")]


def check_gemini(path, text):
    doc = json.loads(text)
    only_keys(doc, {"mcpServers"}, "top level")
    name, s = one_server(doc.get("mcpServers"), "mcpServers")
    if "command" in s:
        only_keys(s, {"command", "args", "env", "cwd", "timeout", "trust"}, name)
        # Gemini CLI strips *TOKEN* variables from what servers inherit: env must name it.
        expect("DATAFAST_TOKEN" in s.get("env", {}), "env must pass DATAFAST_TOKEN explicitly")
        return [stdio_entry(str(path), s, "gemini")]
    only_keys(s, {"httpUrl", "headers", "timeout", "trust"}, name)
    # Gemini CLI's documented keys: httpUrl is Streamable HTTP; url is SSE (this server answers GET with 405).
    expect("httpUrl" in s, 'Streamable HTTP is "httpUrl" ("url" means SSE)')
    return [http_entry(str(path), s.get("httpUrl"), s.get("headers", {}), "gemini")]


def check_zed(path, text):
    doc = json.loads(text)
    only_keys(doc, {"context_servers"}, "top level")
    name, s = one_server(doc.get("context_servers"), "context_servers")
    if "command" in s:
        only_keys(s, {"command", "args", "env", "enabled", "timeout"}, name)
        expect(isinstance(s.get("args"), list), "Zed requires args (even empty)")
        # Zed expands nothing; the child inherits DATAFAST_TOKEN from Zed's environment.
        return [stdio_entry(str(path), s, None, passes=("DATAFAST_TOKEN",))]
    only_keys(s, {"url", "headers", "enabled", "timeout"}, name)
    return [http_entry(str(path), s.get("url"), s.get("headers", {}), "placeholder")]


def check_codex(path, text):
    doc = tomllib.loads(text)
    only_keys(doc, {"mcp_servers"}, "top level")
    name, s = one_server(doc.get("mcp_servers"), "mcp_servers")
    expect("bearer_token" not in s, "Codex rejects an inline bearer_token; use bearer_token_env_var")
    if "command" in s:
        only_keys(s, {"command", "args", "env", "env_vars", "cwd", "startup_timeout_sec",
                      "tool_timeout_sec", "enabled"}, name)
        env_vars = s.get("env_vars", [])
        expect(isinstance(env_vars, list) and "DATAFAST_TOKEN" in env_vars,
               "env_vars must forward DATAFAST_TOKEN (Codex passes only an allow-list otherwise)")
        expect("DATAFAST_TOKEN" not in s.get("env", {}), "the token must not be a value in env")
        return [stdio_entry(str(path), s, None, passes=tuple(env_vars))]
    only_keys(s, {"url", "bearer_token_env_var", "http_headers", "env_http_headers",
                  "startup_timeout_sec", "tool_timeout_sec", "enabled"}, name)
    var = s.get("bearer_token_env_var")
    expect(isinstance(var, str), "bearer_token_env_var must name a variable")
    e = http_entry(str(path), s.get("url"), {"Authorization": "Bearer ${" + var + "}"}, "claude")
    return [e]


def check_continue(path, text):
    doc = yaml.safe_load(text)
    only_keys(doc, {"name", "version", "schema", "mcpServers"}, "top level")
    expect(isinstance(doc.get("name"), str) and isinstance(doc.get("version"), str)
           and doc.get("schema") == "v1", "a block needs name, version (string) and schema: v1")
    servers = doc.get("mcpServers")
    expect(isinstance(servers, list) and len(servers) == 1, "mcpServers must be a list of one server")
    s = servers[0]
    expect(isinstance(s.get("name"), str), "a server needs a name")
    if s.get("type") == "stdio":
        only_keys(s, {"name", "type", "command", "args", "env", "cwd"}, s["name"])
        return [stdio_entry(str(path), s, "continue")]
    expect(s.get("type") == "streamable-http", "type must be stdio or streamable-http")
    only_keys(s, {"name", "type", "url", "requestOptions", "apiKey"}, s["name"])
    headers = (s.get("requestOptions") or {}).get("headers", {})
    return [http_entry(str(path), s.get("url"), headers, "continue")]


def parse_claude_mcp_add(line):
    argv = shlex.split(line)
    expect(argv[:3] == ["claude", "mcp", "add"], "a line must start with claude mcp add")
    opts = {"env": [], "header": []}
    positional = []
    i = 3
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            positional += argv[i + 1:]
            break
        if tok in ("--scope", "-s", "--transport", "-t", "--env", "-e", "--header", "-H"):
            expect(i + 1 < len(argv), f"{tok} needs a value")
            key = {"-s": "scope", "-t": "transport", "-e": "env", "-H": "header"}.get(tok, tok[2:])
            if key in ("env", "header"):
                opts[key].append(argv[i + 1])
            else:
                opts[key] = argv[i + 1]
            i += 2
            continue
        expect(not tok.startswith("-"), f"unknown option {tok} before the name")
        positional.append(tok)
        i += 1
    expect(opts.get("scope") == "project", "use --scope project (writes .mcp.json)")
    expect(len(positional) >= 2, "name and command (or URL) are required")
    return opts, positional


def check_claude_cli(path, text):
    lines = [l for l in re.findall(r"```sh\n(.*?)```", text, re.S) for l in l.strip().splitlines()]
    expect(len(lines) == 2, "expected one stdio and one http line")
    entries = []
    for line in lines:
        opts, pos = parse_claude_mcp_add(line)
        name, target, rest = pos[0], pos[1], pos[2:]
        if opts.get("transport") == "http":
            expect(not rest and not opts["env"], "an http server takes no command or env")
            headers = dict(h.split(": ", 1) for h in opts["header"])
            entries.append(http_entry(f"{path} (http line)", target, headers, "claude"))
            twin = json.loads((ROOT / "claude-code/http/.mcp.json").read_text())["mcpServers"][name]
            expect(twin == {"type": "http", "url": target, "headers": headers},
                   "the http line must add what claude-code/http/.mcp.json holds")
        else:
            expect(opts.get("transport") == "stdio", "transport must be stdio or http")
            env = dict(kv.split("=", 1) for kv in opts["env"])
            server = {"type": "stdio", "command": target, "args": rest, "env": env}
            entries.append(stdio_entry(f"{path} (stdio line)", server, "claude"))
            twin = json.loads((ROOT / "claude-code/stdio/.mcp.json").read_text())["mcpServers"][name]
            expect(twin == server, "the stdio line must add what claude-code/stdio/.mcp.json holds")
    return entries


CHECKERS = [
    (r"claude-desktop/[^/]+/claude_desktop_config\.json", check_claude_desktop),
    (r"claude-code/[^/]+/\.mcp\.json", check_claude_code),
    (r"claude-code/claude-mcp-add\.md", check_claude_cli),
    (r"cursor/[^/]+/\.cursor/mcp\.json", check_cursor),
    (r"vscode/[^/]+/\.vscode/mcp\.json", check_vscode),
    (r"windsurf/[^/]+/mcp_config\.json", check_windsurf),
    (r"gemini/[^/]+/\.gemini/settings\.json", check_gemini),
    (r"zed/[^/]+/settings\.json", check_zed),
    (r"codex/[^/]+/\.codex/config\.toml", check_codex),
    (r"continue/[^/]+/\.continue/mcpServers/[^/]+\.yaml", check_continue),
]
SERVER_CONFIGS = re.compile(r"ceilings/[^/]+\.json|http-shared-service\.json")


# ---- children ----------------------------------------------------------------------------------

def next_line(q, what):
    return child_lines.next_line(q, what, Problem)


def base_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": HOME, "LANG": "C.UTF-8"}


def run_stdio(e, upstream):
    env = base_env()
    env.update(e.env)
    if "--sandbox" not in e.args:
        env.update(upstream)
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([BINARY] + e.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)
        out = child_lines.line_reader(proc.stdout)
        try:
            def send(msg):
                proc.stdin.write(json.dumps(msg) + "\n")
                proc.stdin.flush()

            send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                             "clientInfo": {"name": "test_agent_configs", "version": "1"}}})
            init = json.loads(next_line(out, "initialize"))
            expect(init.get("id") == 1 and "result" in init, f"initialize failed: {init}")
            send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
            listed = json.loads(next_line(out, "tools/list"))
            names = {t["name"] for t in listed.get("result", {}).get("tools", [])}
            expect(names == TOOLS, f"tools/list gave {sorted(names)}")
            proc.stdin.close()
            rc = proc.wait(timeout=GUARD)
            expect(rc == 0, f"the server exited with {rc}")
        except (Problem, OSError, ValueError) as ex:
            proc.kill()
            proc.wait()
            err.seek(0)
            raise Problem(f"{ex}; server stderr: {err.read()[-1500:]}")


def post_initialize(url, headers):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                  "clientInfo": {"name": "test_agent_configs", "version": "1"}}}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(req, timeout=GUARD) as r:
            return r.status, r.headers.get("Mcp-Session-Id"), r.read()
    except urllib.error.HTTPError as ex:
        return ex.code, None, ex.read()


def run_http(e, endpoint):
    u = urllib.parse.urlsplit(e.url)
    expect(u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost") and u.path == "/mcp",
           f"expected a loopback http://HOST:PORT/mcp URL, got {e.url}")
    real = urllib.parse.urlsplit(endpoint)
    url = urllib.parse.urlunsplit((u.scheme, f"{u.hostname}:{real.port}", u.path, "", ""))
    status, session, body = post_initialize(url, e.headers)
    expect(status == 200 and session, f"initialize at {url}: HTTP {status}, session {session!r}, {body[:300]!r}")


def start_sandbox(tmp):
    ca, tok = tmp / "sandbox-ca.pem", tmp / "sandbox-token"
    proc = subprocess.Popen([BINARY, "sandbox", "--ca-out", str(ca), "--token-out", str(tok)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=base_env())
    info = json.loads(next_line(child_lines.line_reader(proc.stdout), "sandbox start"))
    return proc, info, tok.read_text().strip()


def start_http_server(upstream):
    env = base_env()
    env.update(upstream)
    env["DATAFAST_TOKEN"] = VALUES["DATAFAST_TOKEN"]
    env["DATAFAST_MCP_HTTP_TOKEN"] = VALUES["DATAFAST_MCP_HTTP_TOKEN"]
    proc = subprocess.Popen([BINARY, "--http", "127.0.0.1:0", "--auth-token-env", "DATAFAST_MCP_HTTP_TOKEN",
                             "--permissions", "analytics:read,websites:read", "--websites", "*"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)
    err = child_lines.line_reader(proc.stderr)
    seen = []
    while True:
        line = next_line(err, "the HTTP server's start")
        seen.append(line)
        m = re.search(r"serving MCP over HTTP at (http://[^\s;]+)", line)
        if m:  # the reader thread goes on draining stderr, so the server never blocks on it
            return proc, m.group(1)
        expect(len(seen) < 200, f"no 'serving MCP over HTTP' line: {''.join(seen)[-1500:]}")


def check_server_config(path, upstream):
    env = base_env()
    env.update(upstream)
    env["DATAFAST_TOKEN"] = VALUES["DATAFAST_TOKEN"]
    doc = json.loads(path.read_text())
    expect("ceiling" in doc, "a server config has a ceiling")
    for var in [doc.get("http", {}).get("authTokenEnv")] + [c.get("tokenEnv") for c in doc.get("http", {}).get("clients", [])]:
        if var:
            env[var] = secrets.token_hex(24)
    r = subprocess.run([BINARY, "check", "--config", str(path)], env=env, capture_output=True,
                       text=True, timeout=GUARD)
    expect(r.returncode == 0, f"datafast-mcp check exited {r.returncode}: {r.stderr.strip()[-800:]}")


# ---- main --------------------------------------------------------------------------------------

def main():
    global HOME
    files = sorted(p for p in ROOT.rglob("*") if p.is_file())
    relnames = [p.relative_to(ROOT).as_posix() for p in files if p.name != "README.md" or p.parent != ROOT]
    readme = (ROOT / "README.md").read_text()
    with tempfile.TemporaryDirectory(prefix="dfmcp-agent-configs-") as tmpdir:
        tmp = pathlib.Path(tmpdir)
        HOME = str(tmp)
        sandbox, info, token = start_sandbox(tmp)
        http_server = None
        try:
            VALUES["DATAFAST_TOKEN"] = token
            VALUES["DATAFAST_MCP_HTTP_TOKEN"] = secrets.token_hex(24)
            upstream = {"DATAFAST_API_URL": info["baseUrl"], "DATAFAST_CA_FILE": info["caFile"]}
            http_server, endpoint = start_http_server(upstream)
            status, _, _ = post_initialize(endpoint, {})
            if status != 401:
                fail("http server", f"an initialize without a bearer token got {status}, not 401")

            for path in files:
                rel = path.relative_to(ROOT).as_posix()
                if rel == "README.md":
                    continue
                checked["files"] += 1
                if rel not in readme:
                    fail(rel, "not listed in agent-configs/README.md")
                text = path.read_text()
                if LITERAL_TOKEN.search(text):
                    fail(rel, "contains a literal dft_ token")
                try:
                    if SERVER_CONFIGS.fullmatch(rel):
                        check_server_config(path, upstream)
                        checked["server configs"] += 1
                        continue
                    checker = next((c for pat, c in CHECKERS if re.fullmatch(pat, rel)), None)
                    expect(checker is not None, "no checker knows this file; add one")
                    for e in checker(rel, text):
                        if e.kind == "stdio":
                            run_stdio(e, upstream)
                        else:
                            run_http(e, endpoint)
                        checked[e.kind] += 1
                except (Problem, ValueError, KeyError, TypeError, AttributeError,
                        tomllib.TOMLDecodeError, yaml.YAMLError, subprocess.TimeoutExpired) as ex:
                    fail(rel, f"{type(ex).__name__}: {ex}" if not isinstance(ex, Problem) else str(ex))
        finally:
            for proc in (http_server, sandbox):
                if proc:
                    proc.terminate()
                    try:
                        proc.wait(timeout=GUARD)
                    except subprocess.TimeoutExpired:
                        proc.kill()

    if checked["stdio"] == 0 or checked["http"] == 0:
        fail("agent-configs", f"nothing was launched: {checked}")
    print(f"{checked['files']} files: {checked['stdio']} stdio entries started, {checked['http']} HTTP "
          f"entries initialized, {checked['server configs']} server configs checked")
    bad = len(failed_files & set(relnames)) + len(failed_files - set(relnames))
    print(f"{len(relnames) - len(failed_files & set(relnames))} passed, {bad} failed")
    sys.exit(1 if failures else 0)


HOME = None
if __name__ == "__main__":
    main()
