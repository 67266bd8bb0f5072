// Confirmation of broad grants (confirm: writes) with the official clients, end to end:
// SDK 1.x over Streamable HTTP (the question travels on the POST's event stream, the answer comes
// back as a POST) and over stdio; the v2 client under 2026-07-28 (input_required and a retry).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import * as v2 from '@modelcontextprotocol/client';
import { BINARY, startHttpServer, MAIN_TOKEN, SITE_A } from './helpers.mjs';

const confirmArgs = ['--sandbox', '--permissions', 'analytics:read,funnels:read,funnels:write', '--websites', SITE_A,
                     '--confirm', 'writes'];
const broad = { name: 'funnels operator', permissions: ['funnels:read', 'funnels:write'] };

let server;
before(async () => {
  server = await startHttpServer([...confirmArgs, '--http', '127.0.0.1:0', '--auth-token-env', 'MCP_TOKEN'], { MCP_TOKEN: MAIN_TOKEN });
});
after(async () => { assert.equal(await server.stop(), 0); });

function v1Client(answer, asked) {
  const client = new Client({ name: 'e2e-confirm', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(req.params.message);
    return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
  });
  return client;
}

for (const answer of ['accept', 'decline']) {
  test(`HTTP, SDK 1.x: the user is asked on the event stream; ${answer}`, async () => {
    const asked = [];
    const client = v1Client(answer, asked);
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${MAIN_TOKEN}` } },
    }));
    await client.listTools();
    const res = await client.callTool({ name: 'create_access_token', arguments: broad });
    assert.equal(asked.length, 1);
    assert.match(asked[0], /funnels:write/);
    assert.equal(res.isError, answer !== 'accept', res.content?.[0]?.text);
    if (answer === 'accept') assert.match(res.structuredContent.key, /^dft_/);
    else assert.match(res.content[0].text, /did not confirm/);
    // a narrow grant needs no question
    const narrow = await client.callTool({ name: 'create_access_token', arguments: { name: 'reader', permissions: ['analytics:read'] } });
    assert.equal(narrow.isError, false);
    assert.equal(asked.length, 1);
    await client.close();
  });
}

test('stdio, SDK 1.x: the user is asked; yes mints', async () => {
  const asked = [];
  const client = v1Client('accept', asked);
  await client.connect(new StdioClientTransport({ command: BINARY, args: [...confirmArgs, '--log-level', 'warn'] }));
  const res = await client.callTool({ name: 'create_access_token', arguments: broad });
  assert.equal(res.isError, false, res.content?.[0]?.text);
  assert.equal(asked.length, 1);
  await client.close();
});

test('a client that cannot be asked is refused, and told why', async () => {
  const client = new Client({ name: 'e2e-no-elicitation', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${MAIN_TOKEN}` } },
  }));
  const res = await client.callTool({ name: 'create_access_token', arguments: broad });
  assert.equal(res.isError, true);
  assert.match(res.content[0].text, /this client cannot be asked/);
  await client.close();
});

test('2026-07-28, v2 client: input_required, the answer, and the retry', async () => {
  for (const answer of ['accept', 'decline']) {
    const asked = [];
    const client = new v2.Client({ name: 'e2e-mrtr', version: '1.0.0' }, {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: { pin: '2026-07-28' } },
    });
    client.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
    await client.connect(new v2.StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${MAIN_TOKEN}` } },
    }));
    const res = await client.callTool({ name: 'create_access_token', arguments: broad });
    assert.equal(asked.length, 1, answer);
    assert.equal(res.isError, answer !== 'accept', JSON.stringify(res));
    await client.close();
  }
});
