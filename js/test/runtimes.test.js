// One smoke test per runtime: the same plan, byte for byte, from the package's workerd entry in
// workerd (Miniflare) and its browser entry in headless Chromium, as from its Node entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { Planner } from '../node.js';
import { start } from '../preview/serve.js';
import { launchChromium } from './chromium.js';

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

let server;

before(async () => {
  server = await start();
});

after(() => server?.close());

test('headless Chromium: the browser entry plans the same bytes', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/js/test/runtimes/browser.html`);
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
