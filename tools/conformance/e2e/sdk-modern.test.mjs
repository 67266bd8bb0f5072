// The official v2 TypeScript client pinned to protocol 2026-07-28 (stateless: server/discover, no
// initialize, no session), over Streamable HTTP and over stdio.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { BINARY, sandboxArgs, startHttpServer, MAIN_TOKEN, SITE_A } from './helpers.mjs';

let server;
before(async () => {
  server = await startHttpServer([...sandboxArgs, '--http', '127.0.0.1:0', '--auth-token-env', 'MCP_TOKEN'],
                                 { MCP_TOKEN: MAIN_TOKEN });
});
after(async () => { assert.equal(await server.stop(), 0); });

async function exercise(transport) {
  const client = new Client({ name: 'e2e-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(transport);
  assert.equal(client.getProtocolEra(), 'modern');
  const { tools } = await client.listTools();
  assert.equal(tools.length, 5);
  const ceiling = await client.callTool({ name: 'get_token_ceiling', arguments: {} });
  assert.equal(ceiling.isError, false);
  const created = await client.callTool({ name: 'create_access_token', arguments: { name: 'e2e modern', permissions: ['analytics:read'], websiteIds: [SITE_A] } });
  assert.equal(created.isError, false, created.content?.[0]?.text);
  const refused = await client.callTool({ name: 'create_access_token', arguments: { name: 'x', permissions: ['team:write'] } });
  assert.equal(refused.isError, true);
  await client.close();
}

test('2026-07-28 over Streamable HTTP', async () => {
  await exercise(new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${MAIN_TOKEN}` } },
  }));
});

test('2026-07-28 over stdio', async () => {
  await exercise(new StdioClientTransport({ command: BINARY, args: [...sandboxArgs, '--log-level', 'warn'] }));
});
