#!/usr/bin/env node
// A tiny static server for the browser admin preview (and the browser smoke test): serves the
// package's js/, pkg/ and examples/ folders on 127.0.0.1 only, nothing else, and never writes.
//
//   node js/preview/serve.js [--port P]     prints the preview's URL; Ctrl-C stops it
//
// It stays in its rooms: a file is served only when its real path (symlinks resolved) lies
// inside the real path of a served folder, so a link to /etc/passwd is a 404; a folder asked
// without its slash is redirected to its own canonical path on this site, never to a
// `//host/...` another host would answer; and only a request whose Host header names this
// server on loopback (127.0.0.1:PORT, localhost:PORT, [::1]:PORT) is answered, else 421, so a
// page on a rebound DNS name cannot read the preview's files.
//
// The preview's own files also get its Content-Security-Policy as a header: the page carries
// the same policy in a <meta> tag, but a worker script takes its policy from its own response,
// so the header is what holds the planning worker to "no data leaves the page" too.
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVED = ['js', 'pkg', 'examples'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
};

/** The preview's policy: scripts, workers, wasm and fetches from this server only. */
export const PREVIEW_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The file a URL path names, lexically, or null when it is outside the served folders. */
function resolvePath(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const path = normalize(join(ROOT, decoded));
  const inside = SERVED.some((dir) => path === join(ROOT, dir) || path.startsWith(join(ROOT, dir) + sep));
  return inside ? path : null;
}

/** The served folders' real paths (symlinks resolved), once. */
let realRoots;
async function servedRoots() {
  realRoots ??= (await Promise.all(SERVED.map((dir) => realpath(join(ROOT, dir)).catch(() => null)))).filter(Boolean);
  return realRoots;
}

/** `path` with its symlinks resolved, when that real path is inside a served folder; else null. */
async function realInside(path) {
  const real = await realpath(path).catch(() => null);
  if (!real) return null;
  return (await servedRoots()).some((root) => real === root || real.startsWith(root + sep)) ? real : null;
}

/** Whether the Host header names this server on loopback. */
function forThisServer(host, port) {
  const h = String(host ?? '').toLowerCase();
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h);
}

async function handle(req, res, port) {
  if (!forThisServer(req.headers.host, port)) {
    // Another name that resolves here (DNS rebinding), or no name at all: not for us.
    res.writeHead(421, { 'content-type': 'text/plain' }).end('misdirected request: use http://127.0.0.1:' + port + '/');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  if (pathname === '/') {
    res.writeHead(302, { location: '/js/preview/' }).end();
    return;
  }
  const lexical = resolvePath(pathname);
  let path = lexical && (await realInside(lexical));
  let info = path && (await stat(path).catch(() => null));
  if (info?.isDirectory()) {
    if (!pathname.endsWith('/')) {
      // So that the page's relative URLs (preview.js, preview.css) resolve inside the folder.
      // The folder's own path on this site, built from the folder: one leading slash, no host.
      const canonical = relative(ROOT, lexical).split(sep).map(encodeURIComponent).join('/');
      res.writeHead(301, { location: `/${canonical}/` }).end();
      return;
    }
    path = await realInside(join(path, 'index.html'));
    info = path && (await stat(path).catch(() => null));
  }
  if (!info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const headers = {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  const preview = await realpath(join(ROOT, 'js', 'preview')).catch(() => join(ROOT, 'js', 'preview'));
  if (path.startsWith(preview + sep)) headers['content-security-policy'] = PREVIEW_CSP;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : await readFile(path));
}

/**
 * Starts the server on 127.0.0.1. Resolves to `{origin, url, port, close()}`; `url` is the
 * preview page. Port 0 (the default) picks a free port.
 */
export async function start({ port = 0 } = {}) {
  const server = createServer((req, res) => {
    handle(req, res, server.address().port).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    url: `${origin}/js/preview/`,
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8600' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`serve.js: --port must be a port number, not ${values.port}\n`);
    process.exit(2);
  }
  try {
    await stat(join(ROOT, 'pkg', 'learner_sync_bg.wasm'));
  } catch {
    process.stderr.write('serve.js: pkg/ is not built yet: run scripts/setup.sh (or scripts/build.sh) first\n');
    process.exit(2);
  }
  const { url } = await start({ port }).catch((e) => {
    process.stderr.write(`serve.js: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message} (try --port 0)\n`);
    process.exit(1);
  });
  process.stdout.write(`learner-sync preview: ${url}\n(serving on 127.0.0.1 only; Ctrl-C to stop)\n`);
}
