// A real SCIM 2.0 server for the tests: scim2-server from PyPI (in .venv, installed by
// scripts/setup.sh --test), in memory, on a free loopback port, serving /v2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../.venv/bin/scim2-server', import.meta.url));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** Starts scim2-server with `token`; resolves to `{base, stop}` (`base` without `/v2`) once it answers. */
export async function startScimServer(token) {
  assert.ok(existsSync(SERVER), `scim2-server is not installed at ${SERVER}: run scripts/setup.sh --test`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(SERVER, ['--port', String(port), '--bearer-token', token], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/v2/ServiceProviderConfig`)).status < 500) break;
    } catch {}
    if (i > 100) {
      proc.kill();
      throw new Error(`scim2-server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, stop: () => proc.kill() };
}
