// The benchmark peer for datafast-mcp: the same four tools (list_access_tokens,
// create_access_token, revoke_access_token, get_token_ceiling), written the way the official MCP
// TypeScript SDK 1.x documents it: McpServer + registerTool with zod schemas, the stdio transport,
// and the Streamable HTTP transport on the SDK's Express app (sessions kept in a map, as in the
// SDK's README; a POST without a session that is not initialize is served statelessly, with a
// fresh server and transport, as in the SDK's stateless example).
//
// It calls the same DataFast sandbox over HTTPS (node:https with the sandbox CA, one kept-alive
// Agent) and applies the ceiling at a basic level: permissions and websites within the configured
// ceiling and within the parent token's own scope (its listed scope cached for 300 s), never the
// server's own token. It is a yardstick, not a product: bench/run is its only user.
//
// Usage (the flags are a subset of datafast-mcp's):
//   DATAFAST_TOKEN=dft_... node dist/server.js --upstream-url URL --ca-file CA \
//     --permissions a,b --websites id,id|* [--http HOST:PORT]
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';

// --- configuration -------------------------------------------------------------------------

interface Options {
  upstreamUrl: string;
  caFile?: string;
  permissions: string[];
  websites: string[] | '*';
  http?: { host: string; port: number };
}

function parseArgs(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const permissions = value('--permissions');
  const websites = value('--websites');
  if (!permissions || !websites) {
    console.error('peer: --permissions and --websites are required');
    process.exit(2);
  }
  let http: Options['http'];
  const listen = value('--http');
  if (listen) {
    const colon = listen.lastIndexOf(':');
    http = colon < 0 ? { host: '127.0.0.1', port: Number(listen) }
                     : { host: listen.slice(0, colon), port: Number(listen.slice(colon + 1)) };
  }
  return {
    upstreamUrl: value('--upstream-url') ?? 'https://datafa.st/api/v1/admin',
    caFile: value('--ca-file'),
    permissions: permissions.split(','),
    websites: websites === '*' ? '*' : websites.split(','),
    http,
  };
}

const options = parseArgs(process.argv.slice(2));
const parentToken = process.env.DATAFAST_TOKEN ?? '';
if (!parentToken.startsWith('dft_')) {
  console.error('peer: DATAFAST_TOKEN must hold a dft_ token');
  process.exit(2);
}

// --- DataFast over HTTPS -------------------------------------------------------------------

interface ApiToken {
  _id: string;
  name: string | null;
  displayKey: string;
  scope?: string;
  permissions: string[];
  websiteIds: string[];
  lastUsedAt?: string | null;
  createdAt?: string | null;
  key?: string;
}

class UpstreamError extends Error {
  constructor(message: string, readonly status = 0) {
    super(message);
  }
}

const base = new URL(options.upstreamUrl);
const agent = new https.Agent({
  keepAlive: true,
  maxSockets: 16,
  ca: options.caFile ? readFileSync(options.caFile) : undefined,
});

function callDataFast(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiToken[]> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: base.hostname,
        port: base.port || 443,
        path: base.pathname.replace(/\/$/, '') + path,
        method,
        agent,
        timeout: 15000,
        headers: {
          Authorization: `Bearer ${parentToken}`,
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new UpstreamError(`DataFast answered HTTP ${res.statusCode} with a body that is not JSON`, res.statusCode));
            return;
          }
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
            reject(new UpstreamError(`DataFast refused (HTTP ${res.statusCode}): ${parsed?.error?.message ?? ''}`, res.statusCode));
            return;
          }
          resolve(Array.isArray(parsed?.data) ? parsed.data : []);
        });
      },
    );
    req.on('timeout', () => req.destroy(new UpstreamError('DataFast did not answer in time')));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// --- the ceiling ---------------------------------------------------------------------------

interface Scope {
  permissions: string[];
  websiteIds: string[] | '*';
}

const ceiling: Scope = { permissions: options.permissions, websiteIds: options.websites };
const parentDisplayKey = `dft_${parentToken.slice(4, 7)}...${parentToken.slice(-4)}`;
const SCOPE_TTL_MS = 300_000;
let known: { tokens: ApiToken[]; at: number } | undefined;

function isServerToken(t: ApiToken): boolean {
  return t.displayKey === parentDisplayKey;
}

async function listTokens(): Promise<ApiToken[]> {
  const tokens = await callDataFast('GET', '/access-tokens');
  known = { tokens, at: Date.now() };
  return tokens;
}

async function parentScope(): Promise<ApiToken | undefined> {
  if (!known || Date.now() - known.at > SCOPE_TTL_MS) await listTokens();
  return known!.tokens.find(isServerToken);
}

function effectiveCeiling(parent: ApiToken | undefined): Scope {
  if (!parent) return ceiling;
  const permissions = parent.permissions.includes('*')
    ? ceiling.permissions
    : ceiling.permissions.filter((p) => p === '*' ? false : parent.permissions.includes(p));
  let websiteIds: Scope['websiteIds'] = ceiling.websiteIds;
  if (parent.websiteIds.length > 0)
    websiteIds = ceiling.websiteIds === '*' ? parent.websiteIds
                                            : ceiling.websiteIds.filter((w) => parent.websiteIds.includes(w));
  return { permissions, websiteIds };
}

// What of `token` lies beyond `bound` (empty when it fits).
function exceeds(bound: Scope, token: { permissions: string[]; websiteIds: string[] }): string[] {
  const out: string[] = [];
  const allPermissions = bound.permissions.includes('*');
  for (const p of token.permissions)
    if (!allPermissions && !bound.permissions.includes(p)) out.push(`permission ${p}`);
  if (bound.websiteIds !== '*') {
    if (token.websiteIds.length === 0) out.push('all websites');
    for (const w of token.websiteIds) if (!bound.websiteIds.includes(w)) out.push(`website ${w}`);
  }
  return out;
}

function view(t: ApiToken) {
  return {
    id: t._id,
    name: t.name,
    displayKey: t.displayKey,
    scope: t.scope ?? 'user',
    permissions: t.permissions,
    websiteIds: t.websiteIds,
    allWebsites: t.websiteIds.length === 0,
    lastUsedAt: t.lastUsedAt ?? null,
    createdAt: t.createdAt ?? null,
  };
}

function result(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (e) {
    return failure(e instanceof Error ? e.message : String(e));
  }
}

// --- the MCP server ------------------------------------------------------------------------

const PERMISSIONS = [
  'analytics:read', 'goals:read', 'goals:write', 'payments:read', 'payments:write', 'identify:write',
  'websites:read', 'websites:write', 'settings:read', 'settings:write', 'funnels:read', 'funnels:write',
  'alerts:read', 'alerts:write', 'team:read', 'team:write', 'api-keys:read', 'api-keys:write', '*',
] as const;
const websiteId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const tokenView = z.object({
  id: z.string().describe('The token id, to pass to revoke_access_token.'),
  name: z.string().nullable().describe("The token's label, or null."),
  displayKey: z.string().describe('The masked key DataFast shows in its dashboard, e.g. dft_ab1...xyz9.'),
  scope: z.string().describe('DataFast\'s token scope; account tokens use "user".'),
  permissions: z.array(z.string()).describe('Granted permissions; ["*"] is full access.'),
  websiteIds: z.array(z.string()).describe('Websites the token covers; [] means all websites of the account.'),
  allWebsites: z.boolean().describe('True when the token covers all websites (websiteIds is []).'),
  lastUsedAt: z.string().nullable(),
  createdAt: z.string().nullable(),
});

function buildServer(): McpServer {
  const server = new McpServer({ name: 'datafast-mcp-peer', version: '1.0.0' });

  server.registerTool(
    'list_access_tokens',
    {
      title: 'List DataFast access tokens',
      description:
        "Lists the DataFast account tokens (dft_) of the account this server acts for, with their permissions and websites. Raw keys are never shown, only each token's masked displayKey. Each token is marked withinCeiling: whether it lies inside this server's ceiling, the most any token minted or revoked here may hold (see get_token_ceiling); exceeds says what lies beyond it; revocable says whether revoke_access_token would accept it; isServerToken marks the token this server itself runs on. An account holds at most maxTokens tokens.",
      inputSchema: {},
      outputSchema: {
        tokens: z.array(tokenView.extend({
          withinCeiling: z.boolean().describe("True when the token lies within this server's ceiling."),
          exceeds: z.array(z.string()).describe('What lies beyond the ceiling (empty when withinCeiling).'),
          isServerToken: z.boolean().describe('True for the token this server runs on; it can never be revoked here.'),
          revocable: z.boolean().describe('True when revoke_access_token would accept this token.'),
        })),
        count: z.number().int().min(0),
        maxTokens: z.number().int().describe("DataFast's limit of tokens per account."),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async () =>
      guarded(async () => {
        const tokens = await listTokens();
        const bound = effectiveCeiling(tokens.find(isServerToken));
        const items = tokens.map((t) => {
          const beyond = exceeds(bound, t);
          const server = isServerToken(t);
          return { ...view(t), withinCeiling: beyond.length === 0, exceeds: beyond, isServerToken: server,
                   revocable: beyond.length === 0 && !server };
        });
        return result({ tokens: items, count: items.length, maxTokens: 20 });
      }),
  );

  server.registerTool(
    'create_access_token',
    {
      title: 'Create a DataFast access token',
      description:
        "Mints a new DataFast account token (dft_) for a sub-agent or a task and returns its raw key once: hand it on or store it now, it can never be shown again. The new token can never exceed this server's ceiling (call get_token_ceiling to see it): every permission must be in the ceiling's permissions and every website in its websiteIds, otherwise the request is refused with what is allowed and nothing is created. Ask for the least the task needs: only the permissions it will use (reading analytics needs analytics:read and websites:read; write does not imply read) and only the websites it will touch. Omit websiteIds to get every website of the ceiling; an empty list [] means all websites of the account and is allowed only when the ceiling covers all websites. An account holds at most 20 tokens; revoke the ones that are no longer needed.",
      inputSchema: {
        name: z.string().min(1).max(100).describe(
          'Label shown in the DataFast dashboard; say who or what the token is for, e.g. "weekly-report sub-agent". 1 to 100 characters, no control characters.'),
        permissions: z.array(z.enum(PERMISSIONS)).min(1).describe(
          'Permissions of the new token, each within the ceiling. "*" (full access) only when the ceiling is ["*"].'),
        websiteIds: z.array(websiteId).optional().describe(
          'Website ids the new token may use, each within the ceiling. Omit for all websites of the ceiling; [] means all websites of the account (only under a ceiling of all websites, which then requires this field).'),
      },
      outputSchema: { token: tokenView, key: z.string().describe('The raw dft_ key of the new token, shown this once.') },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ name, permissions, websiteIds }) =>
      guarded(async () => {
        if (/[\u0000-\u001f\u007f]/.test(name)) return failure('Refused: /name holds a control character.');
        if (new Set(permissions).size !== permissions.length) return failure('Refused: /permissions has duplicates.');
        const bound = effectiveCeiling(await parentScope());
        if (websiteIds === undefined) {
          if (bound.websiteIds === '*') return failure('Refused: /websiteIds is required under a ceiling of all websites.');
          websiteIds = bound.websiteIds;
        }
        const beyond = exceeds(bound, { permissions, websiteIds });
        if (permissions.includes('*') && !(bound.permissions.length === 1 && bound.permissions[0] === '*'))
          beyond.push('permission *');
        if (beyond.length > 0)
          return failure(`Refused: the request goes beyond this server's token ceiling (${beyond.join(', ')}); ` +
                         `allowed: ${bound.permissions.join(', ')}. Nothing was sent to DataFast.`);
        const [created] = await callDataFast('POST', '/access-tokens', { name, permissions, websiteIds });
        if (!created?.key) return failure('DataFast answered without the new key.');
        known?.tokens.push(created);
        return result({ token: view(created), key: created.key });
      }),
  );

  server.registerTool(
    'revoke_access_token',
    {
      title: 'Revoke a DataFast access token',
      description:
        "Permanently revokes a DataFast account token by its id (from list_access_tokens); anything using it loses access at once and this cannot be undone. Only a token that lies within this server's ceiling can be revoked (list_access_tokens marks it revocable), and never the token this server itself runs on; other requests are refused and nothing is revoked.",
      inputSchema: {
        tokenId: websiteId.describe('The id of the token to revoke, as list_access_tokens shows it.'),
      },
      outputSchema: { revoked: tokenView, message: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    async ({ tokenId }) =>
      guarded(async () => {
        const tokens = await listTokens();
        const target = tokens.find((t) => t._id === tokenId);
        if (!target) return failure(`Refused: no token with id ${tokenId} in this account. Nothing was revoked.`);
        if (isServerToken(target)) return failure("Refused: that is this server's own token. Nothing was revoked.");
        const beyond = exceeds(ceiling, target);
        if (beyond.length > 0)
          return failure(`Refused: the token lies beyond this server's ceiling (${beyond.join(', ')}). Nothing was revoked.`);
        await callDataFast('DELETE', `/access-tokens/${encodeURIComponent(tokenId)}`);
        if (known) known.tokens = known.tokens.filter((t) => t._id !== tokenId);
        return result({ revoked: view(target), message: 'Access token revoked.' });
      }),
  );

  server.registerTool(
    'get_token_ceiling',
    {
      title: 'Show the token ceiling',
      description:
        "Returns this server's ceiling: the permissions and websites that every token minted or revoked here must stay within. Call it before create_access_token to plan a request that fits, then ask for no more than the task needs.",
      inputSchema: {},
      outputSchema: {
        permissions: z.array(z.string()),
        websiteIds: z.union([z.literal('*'), z.array(z.string())]),
        allPermissions: z.boolean(),
        allWebsites: z.boolean(),
        configured: z.object({ permissions: z.array(z.string()), websiteIds: z.union([z.literal('*'), z.array(z.string())]) })
          .describe('The ceiling as configured, before the parent token\'s own scope is taken into account.'),
        parentScope: z.object({
          state: z.enum(['identified', 'not-found', 'unknown']),
          displayKey: z.string().optional(),
          permissions: z.array(z.string()).optional(),
          websiteIds: z.array(z.string()).optional(),
        }),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () =>
      guarded(async () => {
        let parent: ApiToken | undefined;
        let state: 'identified' | 'not-found' | 'unknown' = 'unknown';
        try {
          parent = await parentScope();
          state = parent ? 'identified' : 'not-found';
        } catch {
          // the configured ceiling holds alone
        }
        const bound = effectiveCeiling(parent);
        return result({
          permissions: bound.permissions,
          websiteIds: bound.websiteIds,
          allPermissions: bound.permissions.includes('*'),
          allWebsites: bound.websiteIds === '*',
          configured: { permissions: ceiling.permissions, websiteIds: ceiling.websiteIds },
          parentScope: parent
            ? { state, displayKey: parent.displayKey, permissions: parent.permissions, websiteIds: parent.websiteIds }
            : { state },
        });
      }),
  );

  return server;
}

// --- transports ----------------------------------------------------------------------------

async function serveStdio(): Promise<void> {
  const server = buildServer();
  await server.connect(new StdioServerTransport());
  process.stdin.on('end', () => process.exit(0));
}

function serveHttp(host: string, port: number): void {
  const app = createMcpExpressApp({ host });
  const transports: Record<string, StreamableHTTPServerTransport> = {};

  app.post('/mcp', async (req, res) => {
    try {
      const sessionId = req.headers['mcp-session-id'] as string | undefined;
      if (sessionId) {
        const transport = transports[sessionId];
        if (!transport) {
          res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
          return;
        }
        await transport.handleRequest(req, res, req.body);
        return;
      }
      if (isInitializeRequest(req.body)) {
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id) => {
            transports[id] = transport;
          },
        });
        transport.onclose = () => {
          if (transport.sessionId) delete transports[transport.sessionId];
        };
        await buildServer().connect(transport);
        await transport.handleRequest(req, res, req.body);
        return;
      }
      // No session: the SDK's stateless pattern, a fresh server and transport for this request.
      const server = buildServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (e) {
      if (!res.headersSent)
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  });

  app.delete('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    const transport = sessionId ? transports[sessionId] : undefined;
    if (!transport) {
      res.status(404).end();
      return;
    }
    await transport.handleRequest(req, res);
  });

  app.get('/mcp', (_req, res) => {
    res.status(405).set('Allow', 'POST, DELETE').end();
  });

  const listener = app.listen(port, host, () => {
    const address = listener.address() as AddressInfo;
    console.error(`datafast-mcp-peer serving MCP over HTTP at http://${host}:${address.port}/mcp`);
  });
  const stop = () => listener.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (options.http) serveHttp(options.http.host, options.http.port);
else await serveStdio();
