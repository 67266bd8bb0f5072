// The official TypeScript SDK client (1.x, protocol 2025-11-25) over Streamable HTTP, with bearer
// tokens and two clients with different ceilings. The SDK validates every structuredContent
// against the tool's outputSchema once listTools() has run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpServer, writeConfig, MAIN_TOKEN, REPORTER_TOKEN, SITE_A, SITE_B } from './helpers.mjs';

let server;
let config;

before(async () => {
  config = writeConfig();
  server = await startHttpServer(['--sandbox', '--config', config.file],
                                 { MCP_TOKEN: MAIN_TOKEN, REPORTER_TOKEN });
});
after(async () => {
  assert.equal(await server.stop(), 0, 'clean exit on SIGTERM');
  config.cleanup();
});

async function connect(token) {
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  const client = new Client({ name: 'e2e-sdk-http', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

function structured(result) {
  assert.equal(result.isError, false, result.content?.[0]?.text);
  return result.structuredContent;
}

test('lists the five tools and calls each one against the sandbox', async () => {
  const { client, transport } = await connect(MAIN_TOKEN);
  assert.ok(transport.sessionId, 'a session id was minted');
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(),
                   ['create_access_token', 'get_token_ceiling', 'list_access_tokens', 'list_websites', 'revoke_access_token']);

  const ceiling = structured(await client.callTool({ name: 'get_token_ceiling', arguments: {} }));
  assert.deepEqual(ceiling.websiteIds, [SITE_A, SITE_B]);
  const websites = structured(await client.callTool({ name: 'list_websites', arguments: {} }));
  assert.deepEqual(websites.websites.map((w) => w.id), [SITE_A, SITE_B]);

  const before = structured(await client.callTool({ name: 'list_access_tokens', arguments: {} }));
  const created = structured(await client.callTool({
    name: 'create_access_token',
    arguments: { name: 'e2e http', permissions: ['analytics:read'], websiteIds: [SITE_A] },
  }));
  assert.match(created.key, /^dft_/);
  const during = structured(await client.callTool({ name: 'list_access_tokens', arguments: {} }));
  assert.equal(during.count, before.count + 1);

  const revoked = structured(await client.callTool({ name: 'revoke_access_token', arguments: { tokenId: created.token.id } }));
  assert.equal(revoked.revoked.id, created.token.id);

  const refused = await client.callTool({ name: 'create_access_token', arguments: { name: 'x', permissions: ['*'] } });
  assert.equal(refused.isError, true);
  assert.match(refused.content[0].text, /beyond this server's token ceiling/);

  await transport.terminateSession();
  await client.close();
});

test('each client is judged against its own ceiling', async () => {
  const { client } = await connect(REPORTER_TOKEN);
  await client.listTools();
  const ceiling = structured(await client.callTool({ name: 'get_token_ceiling', arguments: {} }));
  assert.deepEqual(ceiling.permissions, ['analytics:read']);
  assert.deepEqual(ceiling.websiteIds, [SITE_A]);
  const refused = await client.callTool({
    name: 'create_access_token', arguments: { name: 'x', permissions: ['websites:read'], websiteIds: [SITE_A] },
  });
  assert.equal(refused.isError, true); // within the server's ceiling, beyond the reporter's
  assert.match(refused.content[0].text, /'websites:read' is beyond the ceiling; allowed: analytics:read/);
  await client.close();
});

test('without a valid bearer token the connection is refused', async () => {
  await assert.rejects(connect(undefined), /401|Unauthorized/);
  await assert.rejects(connect('wrong-token-wrong-token-wrong'), /401|Unauthorized/);
});
