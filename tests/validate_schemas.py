#!/usr/bin/env python3
"""Independent checks with Debian's python3-jsonschema (JSON Schema 2020-12):
every file in schemas/ is a valid schema; example configs validate against config.schema.json
(and known-bad ones do not); each tool's real structuredContent, produced by the binary against
its built-in sandbox, validates against the tool's outputSchema from tools/list.

usage: validate_schemas.py SOURCE_DIR BINARY
"""
import json
import pathlib
import subprocess
import sys

import jsonschema
from jsonschema import Draft202012Validator

src = pathlib.Path(sys.argv[1])
binary = sys.argv[2]
schemas = src / "schemas"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


store = {}
for path in sorted(schemas.rglob("*.json")):
    doc = json.loads(path.read_text())
    if path.parent == schemas:
        try:
            Draft202012Validator.check_schema(doc)
        except jsonschema.SchemaError as e:
            fail(f"{path.name}: not a valid 2020-12 schema: {e.message}")
        store[path.resolve().as_uri()] = doc
    else:  # tools/*.json: the input and output schemas must be valid
        for key in ("inputSchema", "outputSchema"):
            try:
                Draft202012Validator.check_schema(doc[key])
            except jsonschema.SchemaError as e:
                fail(f"{path.name} {key}: {e.message}")

config_schema_path = (schemas / "config.schema.json").resolve()
resolver = jsonschema.RefResolver(config_schema_path.as_uri(), json.loads(config_schema_path.read_text()), store=store)
config_validator = Draft202012Validator(json.loads(config_schema_path.read_text()), resolver=resolver)

examples = sorted((src / "agent-configs").rglob("*.json"))
checked = 0
for path in examples:
    doc = json.loads(path.read_text())
    if isinstance(doc, dict) and "ceiling" in doc:
        errors = list(config_validator.iter_errors(doc))
        checked += 1
        if errors:
            fail(f"{path.relative_to(src)}: {errors[0].message}")
if checked == 0:
    fail("no example configs found under agent-configs/")

bad_configs = [
    {"ceiling": {"permissions": ["analytics:read"], "websiteIds": []}},
    {"ceiling": {"permissions": ["Analytics:read"], "websiteIds": "*"}},
    {"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "upstream": {"baseUrl": "http://x"}},
    {"ceiling": {"permissions": ["*"], "websiteIds": "*"}, "extra": 1},
    {"ceiling": {"permissions": ["*"]}},
]
for bad in bad_configs:
    if config_validator.is_valid(bad):
        fail(f"config schema accepts a bad config: {json.dumps(bad)}")

# Tool outputs from the real binary (built-in sandbox), validated against tools/list's schemas.
site = "65a1b2c3d4e5f60718293a01"
proc = subprocess.Popen([binary, "--sandbox", "--permissions", "analytics:read,websites:read", "--websites", site,
                         "--log-level", "warn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
next_id = 0


def rpc(method, params=None):
    global next_id
    next_id += 1
    msg = {"jsonrpc": "2.0", "id": next_id, "method": method}
    if params is not None:
        msg["params"] = params
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()
    reply = json.loads(proc.stdout.readline())
    assert reply["id"] == next_id, reply
    return reply


rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "validate", "version": "1"}})
proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
tools = {t["name"]: t for t in rpc("tools/list")["result"]["tools"]}


def call(name, arguments):
    try:
        Draft202012Validator(tools[name]["inputSchema"]).validate(arguments)
    except jsonschema.ValidationError as e:
        fail(f"{name}: example arguments rejected by its inputSchema: {e.message}")
    result = rpc("tools/call", {"name": name, "arguments": arguments})["result"]
    if result.get("isError"):
        fail(f"{name} failed: {result['content'][0]['text']}")
        return None
    try:
        Draft202012Validator(tools[name]["outputSchema"]).validate(result["structuredContent"])
    except jsonschema.ValidationError as e:
        fail(f"{name}: structuredContent does not match its outputSchema: {e.message}")
    return result["structuredContent"]


call("get_token_ceiling", {})
call("list_access_tokens", {})
created = call("create_access_token", {"name": "validator", "permissions": ["analytics:read"], "websiteIds": [site]})
if created:
    call("revoke_access_token", {"tokenId": created["token"]["id"]})
dry = call("create_access_token", {"name": "validator", "permissions": ["analytics:read"], "dryRun": True})
if dry and not dry.get("wouldSend"):
    fail("a dry run did not return wouldSend")
proc.stdin.close()
if proc.wait(timeout=30) != 0:
    fail(f"the server exited with {proc.returncode}")

if failures:
    print(f"{len(failures)} problem(s)")
    sys.exit(1)
print(f"ok: {len(store)} schema files, {checked} example configs, {len(bad_configs)} bad configs refused, 5 tool outputs valid")
