// Shared helpers for the end-to-end tests: start the real datafast-mcp binary (path in
// DFMCP_BINARY) over HTTP on an ephemeral loopback port, against its built-in sandbox.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

export const BINARY = process.env.DFMCP_BINARY;
if (!BINARY) throw new Error('set DFMCP_BINARY to the datafast-mcp binary');

export const SITE_A = '65a1b2c3d4e5f60718293a01';
export const SITE_B = '65a1b2c3d4e5f60718293a02';
export const MAIN_TOKEN = 'main-client-token-0123456789abcdef';
export const REPORTER_TOKEN = 'reporter-token-0123456789abcdef01';

// A config with a default client (MCP_TOKEN, the server's whole ceiling) and a "reporter" client
// whose own ceiling is narrower.
export function writeConfig() {
  const dir = mkdtempSync(join(tmpdir(), 'dfmcp-e2e-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    ceiling: { permissions: ['analytics:read', 'websites:read', 'api-keys:read'], websiteIds: [SITE_A, SITE_B] },
    http: {
      listen: '127.0.0.1:0',
      authTokenEnv: 'MCP_TOKEN',
      clients: [{ name: 'reporter', tokenEnv: 'REPORTER_TOKEN',
                  ceiling: { permissions: ['analytics:read'], websiteIds: [SITE_A] } }],
    },
  }));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Starts the binary with `args`; resolves once it announces its HTTP endpoint on stderr.
export function startHttpServer(args, env = {}) {
  const proc = spawn(BINARY, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stderr });
    lines.on('line', (line) => {
      log += line + '\n';
      const m = line.match(/serving MCP over HTTP at (http:\/\/[^;]+)/);
      if (m) resolve({ url: m[1], proc, log: () => log, stop: () => stop(proc) });
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${log}`)));
    // A guard, not a synchronisation: a server that never announces itself fails the test.
    setTimeout(() => reject(new Error(`server did not announce an HTTP endpoint within 20 s:\n${log}`)), 20000).unref();
  });
}

// SIGTERM, then resolve with the exit code.
export function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

export const sandboxArgs = ['--sandbox', '--permissions', 'analytics:read,websites:read,api-keys:read', '--websites', `${SITE_A},${SITE_B}`];
