// The official TypeScript SDK client (1.x) over stdio, spawning the binary on its sandbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BINARY, sandboxArgs, SITE_A } from './helpers.mjs';

test('stdio: initialize, list the tools, call each one', async () => {
  const transport = new StdioClientTransport({ command: BINARY, args: [...sandboxArgs, '--log-level', 'warn'], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'e2e-sdk-stdio', version: '1.0.0' });
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, 'datafast-mcp');
  const { tools } = await client.listTools();
  assert.equal(tools.length, 5);
  for (const t of tools) {
    assert.ok(t.title && t.description && t.inputSchema && t.outputSchema, `${t.name} is fully described`);
  }
  const ceiling = await client.callTool({ name: 'get_token_ceiling', arguments: {} });
  assert.equal(ceiling.isError, false);
  const list = await client.callTool({ name: 'list_access_tokens', arguments: {} });
  assert.equal(list.isError, false);
  const websites = await client.callTool({ name: 'list_websites', arguments: {} });
  assert.equal(websites.isError, false, websites.content[0].text);
  const created = await client.callTool({ name: 'create_access_token', arguments: { name: 'e2e stdio', permissions: ['analytics:read'], websiteIds: [SITE_A] } });
  assert.equal(created.isError, false, created.content[0].text);
  const revoked = await client.callTool({ name: 'revoke_access_token', arguments: { tokenId: created.structuredContent.token.id } });
  assert.equal(revoked.isError, false, revoked.content[0].text);
  await client.close();
  assert.doesNotMatch(stderr, new RegExp(created.structuredContent.key), 'the raw key never reaches the logs');
});
