// The MCP inspector's CLI against the binary: stdio and HTTP, legacy and modern protocol eras.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BINARY, sandboxArgs, startHttpServer, MAIN_TOKEN, SITE_A } from './helpers.mjs';

const run = promisify(execFile);

// --format json prints {"result": ...} first; a tool result with isError makes the CLI exit 5.
async function inspector(args, { allowToolError = false } = {}) {
  let stdout;
  try {
    ({ stdout } = await run('inspector', ['--cli', '-q', '--format', 'json', ...args], { env: process.env, timeout: 60000 }));
  } catch (e) {
    if (!(allowToolError && e.code === 5)) throw e;
    stdout = e.stdout;
  }
  return JSON.parse(stdout.slice(0, stdout.indexOf('\n') > 0 ? stdout.indexOf('\n') : undefined)).result;
}

const stdioTarget = ['--', BINARY, ...sandboxArgs, '--log-level', 'warn'];

test('stdio: tools/list and a call of each tool', async () => {
  const list = await inspector(['--method', 'tools/list', ...stdioTarget]);
  assert.equal(list.tools.length, 5);
  for (const [name, args] of [['get_token_ceiling', {}], ['list_access_tokens', {}], ['list_websites', {}],
                              ['create_access_token', { name: 'inspector', permissions: ['analytics:read'], websiteIds: [SITE_A] }]]) {
    const r = await inspector(['--method', 'tools/call', '--tool-name', name, '--tool-args-json', JSON.stringify(args), ...stdioTarget]);
    assert.equal(r.isError, false, `${name}: ${JSON.stringify(r)}`);
  }
  // revoke: a token that does not exist is refused as a tool error, not a protocol error
  const r = await inspector(['--method', 'tools/call', '--tool-name', 'revoke_access_token', '--tool-args-json', '{"tokenId":"000000000000000000000000"}', ...stdioTarget],
                            { allowToolError: true });
  assert.equal(r.isError, true);
});

let server;
before(async () => {
  server = await startHttpServer([...sandboxArgs, '--http', '127.0.0.1:0', '--auth-token-env', 'MCP_TOKEN'], { MCP_TOKEN: MAIN_TOKEN });
});
after(async () => { assert.equal(await server.stop(), 0); });

test('HTTP with a bearer header, legacy and modern eras', async () => {
  for (const era of ['legacy', 'modern']) {
    const common = [server.url, '--protocol-era', era, '--header', `Authorization: Bearer ${MAIN_TOKEN}`];
    const list = await inspector([...common, '--method', 'tools/list']);
    assert.equal(list.tools.length, 5, era);
    const r = await inspector([...common, '--method', 'tools/call', '--tool-name', 'get_token_ceiling', '--tool-args-json', '{}']);
    assert.equal(r.isError, false, era);
  }
});
