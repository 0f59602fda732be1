// One smoke test per runtime: the same plan, byte for byte, from the package's workerd entry in
// workerd (Miniflare) and its browser entry in headless Chromium, as from its Node entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import { Planner } from '../node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = readFileSync(join(ROOT, 'examples/walkthrough/source.csv'), 'utf8');
const TARGET = readFileSync(join(ROOT, 'examples/walkthrough/foundry-users.json'), 'utf8');

function nodePlan() {
  const p = new Planner({ platform: 'foundry' });
  p.addSource(SOURCE, { label: 'source.csv' });
  p.addTarget(TARGET, { label: 'foundry-users.json' });
  const json = p.finishJson();
  p.free();
  return json;
}

test('workerd (Miniflare): the workerd entry plans the same bytes, and errors keep their code', async () => {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: join(ROOT, 'js/test/runtimes/worker.js'),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2024-09-23',
  });
  try {
    const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: JSON.stringify({ source: SOURCE, target: TARGET }) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), nodePlan());
    const bad = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: JSON.stringify({ source: SOURCE, target: '<html>' }) });
    assert.equal(bad.status, 400);
    const err = await bad.json();
    assert.equal(err.code, 'MALFORMED_PAGE');
    assert.equal(err.name, 'LearnerSyncError');
  } finally {
    await mf.dispose();
  }
});

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.csv': 'text/csv' };
let server;
let origin;

before(async () => {
  server = createServer((req, res) => {
    const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (!path.startsWith(ROOT) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(() => server?.close());

test('headless Chromium: the browser entry plans the same bytes', async () => {
  const executablePath = '/usr/bin/chromium';
  assert.ok(existsSync(executablePath), 'Chromium is not installed at /usr/bin/chromium: run scripts/setup.sh --test');
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/js/test/runtimes/browser.html`);
    await page.waitForFunction(() => window.planJson || window.planError, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.planError), undefined, errors.join('\n'));
    assert.equal(await page.evaluate(() => window.planJson), nodePlan());
    assert.equal(await page.evaluate(() => window.errorCode), 'MALFORMED_PAGE');
    assert.equal(await page.textContent('#status'), '4 actions');
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output/browser-smoke.png') });
  } finally {
    await browser.close();
  }
});
