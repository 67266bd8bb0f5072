#!/usr/bin/env python3
"""The distribution metadata against its schemas and against the binary it describes.

- packaging/mcpb/manifest.json (MCP Bundle, manifest_version 0.3) and packaging/server.json (MCP
  registry, schema 2025-12-11) validate against packaging/schemas/*.checks.schema.json, and,
  when MCPB_MANIFEST_SCHEMA / MCP_SERVER_SCHEMA name copies of the published schemas, against
  those too (Debian's python3-jsonschema).
- Their versions equal the project version in CMakeLists.txt; the manifest's tools are the
  binary's tools/list; every ${user_config.X} is declared; the flags and variables they pass are
  ones the binary documents in --help.
- The bundle's command line (mcp_config, user_config defaults filled in) starts BINARY against a
  `datafast-mcp sandbox` and lists the 5 tools over stdio.

usage: test_packaging.py SOURCE_DIR BINARY
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

from jsonschema import Draft7Validator, FormatChecker
from child_lines import GUARD, line_reader, next_line

SRC = pathlib.Path(sys.argv[1]).resolve()
BINARY = str(pathlib.Path(sys.argv[2]).resolve())
failures = []
passed = 0


def check(name, cond, msg=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {msg}")
        print(f"FAIL: {name}: {msg}", flush=True)


def validate(name, doc, schema_path):
    schema = json.loads(pathlib.Path(schema_path).read_text())
    Draft7Validator.check_schema(schema)
    errors = sorted(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(doc),
                    key=lambda e: list(e.path))
    check(f"{name} against {pathlib.Path(schema_path).name}", not errors,
          "; ".join(f"/{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]))


manifest = json.loads((SRC / "packaging/mcpb/manifest.json").read_text())
server = json.loads((SRC / "packaging/server.json").read_text())
schemas = SRC / "packaging/schemas"
validate("manifest.json", manifest, schemas / "mcpb-manifest.checks.schema.json")
validate("server.json", server, schemas / "server-json.checks.schema.json")
if os.environ.get("MCPB_MANIFEST_SCHEMA"):
    validate("manifest.json", manifest, os.environ["MCPB_MANIFEST_SCHEMA"])
if os.environ.get("MCP_SERVER_SCHEMA"):
    validate("server.json", server, os.environ["MCP_SERVER_SCHEMA"])

project_version = re.search(r"project\(datafast_mcp VERSION ([0-9.]+)", (SRC / "CMakeLists.txt").read_text()).group(1)
check("versions", manifest["version"] == server["version"] == project_version
      == server["packages"][0]["version"],
      f"manifest {manifest['version']}, server.json {server['version']}, CMakeLists.txt {project_version}")
check("mcpb file name", f"-{project_version}-" in server["packages"][0]["identifier"]
      and f"/v{project_version}/" in server["packages"][0]["identifier"],
      "the release asset URL must carry the version")

help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=GUARD).stdout
mcp_config = manifest["server"]["mcp_config"]
declared = set(manifest["user_config"])
used = set(re.findall(r"\$\{user_config\.([A-Za-z0-9_]+)\}", json.dumps(mcp_config)))
check("user_config", used == declared, f"used {sorted(used)}, declared {sorted(declared)}")
for flag in [a for a in mcp_config["args"] if a.startswith("--")] + \
        [a["name"] for a in server["packages"][0].get("packageArguments", [])]:
    check(f"flag {flag}", re.search(rf"^\s+{re.escape(flag)}\b", help_text, re.M) is not None,
          "not an option in datafast-mcp --help")
for var in list(mcp_config["env"]) + [v["name"] for v in server["packages"][0].get("environmentVariables", [])]:
    check(f"variable {var}", var in help_text, "not documented in datafast-mcp --help")
# The ceiling travels in the environment (DATAFAST_MCP_*), as registries and bundles pass settings.
for var in ["DATAFAST_MCP_PERMISSIONS", "DATAFAST_MCP_WEBSITES"]:
    check(f"manifest passes {var}", var in mcp_config["env"], "the bundle must pass the ceiling as " + var)
    check(f"server.json declares {var}",
          any(v["name"] == var and v.get("isRequired") for v in server["packages"][0]["environmentVariables"]),
          "server.json must declare " + var + " as required")
check("license", manifest.get("license") == "MIT"
      and server.get("_meta", {}).get("io.modelcontextprotocol.registry/publisher-provided", {}).get("license") == "MIT"
      and (SRC / "LICENSE").read_text().startswith("MIT License"), "MIT in LICENSE, the manifest and server.json")
secret_vars = [v for v in server["packages"][0]["environmentVariables"] if v["name"] == "DATAFAST_TOKEN"]
check("server.json token", len(secret_vars) == 1 and secret_vars[0].get("isSecret") is True,
      "DATAFAST_TOKEN must be declared isSecret")

# The bundle's command line, as an MCPB host would run it with the defaults, against a sandbox.
with tempfile.TemporaryDirectory(prefix="dfmcp-packaging-") as tmp:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8"}
    sandbox = subprocess.Popen([BINARY, "sandbox", "--ca-out", f"{tmp}/ca.pem", "--token-out", f"{tmp}/token"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=base)
    try:
        info = json.loads(next_line(line_reader(sandbox.stdout), "sandbox start"))
        # As an MCPB host substitutes them: booleans as "true"/"false".
        values = {k: json.dumps(v["default"]) if isinstance(v.get("default"), bool) else str(v.get("default", ""))
                  for k, v in manifest["user_config"].items()}
        values["datafast_token"] = pathlib.Path(f"{tmp}/token").read_text().strip()

        def fill(s):
            s = s.replace("${__dirname}/server/datafast-mcp", BINARY)
            return re.sub(r"\$\{user_config\.([A-Za-z0-9_]+)\}", lambda m: values[m.group(1)], s)

        env = dict(base, DATAFAST_API_URL=info["baseUrl"], DATAFAST_CA_FILE=info["caFile"])
        env.update({k: fill(v) for k, v in mcp_config["env"].items()})
        argv = [fill(mcp_config["command"])] + [fill(a) for a in mcp_config["args"]]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        out, err = line_reader(proc.stdout), line_reader(proc.stderr)
        try:
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "test_packaging", "version": "1"}}}) + "\n")
            proc.stdin.flush()
            init = json.loads(next_line(out, "initialize"))
            proc.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                             '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n')
            proc.stdin.flush()
            tools = {t["name"] for t in json.loads(next_line(out, "tools/list"))["result"]["tools"]}
            proc.stdin.close()
            check("bundle command starts", "result" in init and proc.wait(timeout=GUARD) == 0,
                  f"initialize: {init}")
            check("manifest tools", tools == {t["name"] for t in manifest["tools"]},
                  f"tools/list {sorted(tools)} vs manifest {sorted(t['name'] for t in manifest['tools'])}")
        except (RuntimeError, ValueError, KeyError) as ex:
            proc.kill()
            proc.wait()
            stderr = []
            while not err.empty():
                stderr.append(err.get() or "")
            check("bundle command starts", False, f"{ex}; stderr: {''.join(stderr)[-1000:]}")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=GUARD)

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
