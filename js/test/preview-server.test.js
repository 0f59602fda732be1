// The preview's static server stays in its rooms (issue 10, item 9): it serves real files
// inside js/, pkg/ and examples/ only (a symlink that leaves them is not followed), never
// redirects off-site, and answers only requests addressed to loopback (DNS rebinding).
// Requests are sent raw (node:http, or a socket), so that no client normalises their paths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../preview/serve.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'TOP-SECRET-OUTSIDE-7d1e';
// A fixture folder inside a served root, made for this run (and ignored by git).
const LINKS = join(ROOT, 'js', 'test', `.served-links-${process.pid}`);

let server;
let outside;

before(async () => {
  outside = mkdtempSync(join(tmpdir(), 'ls-outside-'));
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  mkdirSync(LINKS);
  writeFileSync(join(LINKS, 'plain.txt'), 'plain file inside');
  symlinkSync(join(outside, 'secret.txt'), join(LINKS, 'leak.txt'));
  symlinkSync(outside, join(LINKS, 'leakdir'));
  symlinkSync('/etc/passwd', join(LINKS, 'passwd'));
  symlinkSync(join(ROOT, 'README.md'), join(LINKS, 'readme.md'));
  // A link that stays inside the served folders is served.
  symlinkSync(join(ROOT, 'examples', 'walkthrough', 'source.csv'), join(LINKS, 'inside.csv'));
  server = await start();
});

after(async () => {
  await server?.close();
  rmSync(LINKS, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** GET `path` exactly as written, with `host` as the Host header. */
function get(path, host = `127.0.0.1:${server.port}`) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw HTTP/1.0 request with no Host header at all. */
function getWithoutHost(path) {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const rel = (name) => `/js/test/.served-links-${process.pid}/${name}`;

test('only real files inside the served folders are served: a symlink that leaves them is not followed', async () => {
  assert.equal((await get(rel('plain.txt'))).body, 'plain file inside', 'the fixture is served');
  for (const name of ['leak.txt', 'leakdir/secret.txt', 'leakdir/', 'passwd', 'readme.md']) {
    const r = await get(rel(name));
    assert.equal(r.status, 404, `${name}: ${r.status}`);
    assert.ok(!r.body.includes(SECRET) && !r.body.includes('root:') && !r.body.includes('learner-sync'), name);
  }
  // A link that stays inside the served folders is served.
  const inside = await get(rel('inside.csv'));
  assert.equal(inside.status, 200);
  assert.match(inside.body, /^ssoId,firstName/);
  // No path leaves them, however it is encoded (this part held before too).
  for (const path of [
    '/js/../README.md',
    '/js/%2e%2e/README.md',
    '/js/..%2fREADME.md',
    '/js/..%5cREADME.md',
    '/js\\..\\README.md',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/js/..%2f..%2f..%2fetc/passwd',
    '/js/%00',
    '//etc/passwd',
    '/Cargo.toml',
  ]) {
    const r = await get(path);
    assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
    assert.ok(!r.body.includes('root:') && !r.body.includes('[package]') && !r.body.includes('# learner-sync'), path);
  }
});

test('a folder without its slash is redirected within the site, never to another host', async () => {
  for (const path of ['/.//evil.example/..%2fjs', '//evil.example/..%2fjs', '/.//evil.example/../js', '/js', '/js/preview', '/.%2f/evil.example/..%2fexamples']) {
    const r = await get(path);
    if (r.status === 301 || r.status === 302) {
      const location = r.headers.location;
      assert.match(location, /^\/[^/\\]/, `${path}: Location ${location}`);
      assert.doesNotMatch(location, /evil|%2f|\/\/|\\/i, `${path}: Location ${location}`);
      const target = new URL(location, 'http://127.0.0.1');
      assert.equal(target.host, '127.0.0.1', `${path}: Location ${location}`);
    } else {
      assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
    }
  }
  assert.equal((await get('/js/preview')).headers.location, '/js/preview/');
});

test('only a request addressed to loopback is answered (DNS rebinding)', async () => {
  const port = server.port;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
    const r = await get('/js/preview/', host);
    assert.equal(r.status, 200, host);
  }
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost.evil.example:${port}`]) {
    const r = await get('/js/preview/', host);
    assert.equal(r.status, 421, `Host ${JSON.stringify(host)}: ${r.status}`);
    assert.ok(!r.body.includes('<html') && !r.body.includes('<!doctype'), host);
  }
  const bare = await getWithoutHost('/js/preview/');
  assert.match(bare, /^HTTP\/1\.[01] (421|400) /, bare.slice(0, 40));
  assert.doesNotMatch(bare, /<!doctype|<html/i);
});
