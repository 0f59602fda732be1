// The browser admin preview (js/preview/) in Debian's headless Chromium: files in, the plan
// shown (counts, rows, hostile values as text), searched, filtered, paged, downloaded byte for
// byte as Node plans it; 100,000 learners with progress, a cancel while the worker plans, and
// no request leaving for anywhere but the local server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Planner, planToCsv } from '../node.js';
import { generate } from '../bench/generate.js';
import { start } from '../preview/serve.js';
import { platformCsvToNormalised } from '../preview/platform-csv.js';
import { launchChromium } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const XSS = '<img src=x onerror=alert(1)>';
const KINDS = ['create', 'update', 'reactivate', 'link', 'deactivate', 'delete', 'review', 'conflict', 'invalid'];
const TOTALS = ['learners', 'platformUsers', 'unchanged', 'untouched', 'protected'];
const LONG = { timeout: 180_000 };

let server;
let browser;
let tmp;

before(async () => {
  server = await start();
  browser = await launchChromium();
  tmp = mkdtempSync(join(tmpdir(), 'learner-sync-preview-'));
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Plans in Node as the page should: the same options, files and labels. */
function nodePlan(options, sources, targets) {
  const p = new Planner(options);
  for (const [label, bytes] of sources) p.addSource(bytes, { label });
  for (const [label, bytes, format] of targets) p.addTarget(bytes, { label, format });
  const json = p.finishJson();
  p.free();
  return { json, plan: JSON.parse(json) };
}

/** A fresh page on the preview, recording every request, dialog and page error. */
async function openPreview() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const seen = { requests: [], dialogs: [], errors: [] };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector('html[data-ready]');
  return { page, seen };
}

async function planAndWait(page, timeout = 30_000) {
  await page.click('#plan');
  await page.waitForSelector('#status[data-phase="done"], #status[data-phase="failed"]', { state: 'attached', timeout });
  const error = await page.locator('#error').textContent();
  assert.equal(await page.getAttribute('#status', 'data-phase'), 'done', error);
}

/** The counts the page shows: the chart's bars and the totals. */
function shownCounts(page) {
  return page.evaluate(() => {
    const n = (el) => Number(el.textContent.replace(/,/g, ''));
    const out = {};
    for (const row of document.querySelectorAll('#chart [data-kind]')) out[row.dataset.kind] = n(row.querySelector('.count'));
    for (const dd of document.querySelectorAll('#totals [data-stat]')) if (dd.dataset.stat !== 'fingerprint') out[dd.dataset.stat] = n(dd);
    return out;
  });
}

function expectedCounts(summary) {
  const out = {};
  for (const k of [...KINDS, ...TOTALS]) out[k] = summary[k];
  if (summary.withheld) out.withheld = summary.withheld;
  return out;
}

/** The visible table rows as [action, key, text]. */
function visibleRows(page) {
  return page.$$eval('#actions tbody tr', (trs) => trs.map((tr) => [tr.dataset.action, tr.cells[1].textContent, tr.textContent]));
}

/** Waits for the table to settle (no query in flight), then for the "N actions" line to say `text`. */
async function waitShown(page, text) {
  await page.waitForSelector('#actions:not([aria-busy])', { state: 'attached', timeout: 10_000 });
  await page.waitForFunction((t) => document.getElementById('shown').textContent === t, text, { timeout: 10_000 });
}

async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

function assertLocalOnly(seen) {
  const foreign = seen.requests.filter((u) => !u.startsWith(`${server.origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'requests left the page for somewhere other than the local server');
}

test('the walkthrough: counts, rows, hostile text, search, filter, downloads, a platform CSV', LONG, async () => {
  const dir = join(tmp, 'walkthrough');
  mkdirSync(dir);
  const walk = readFileSync(join(ROOT, 'examples/walkthrough/source.csv'), 'utf8');
  // Beside the walkthrough: a hostile first name (row 7), an unusable row (8), a shared key (9, 10).
  const source = `${walk}999,${XSS},Hacker,hacker@example.org,T\n1000,Bad,Row,bad@example.org,maybe\n`
    + '1001,Dup,One,dup1@example.org,T\n1001,Dup,Two,dup2@example.org,T\n';
  writeFileSync(join(dir, 'source.csv'), source);
  const foundry = readFileSync(join(ROOT, 'examples/walkthrough/foundry-users.json'));
  writeFileSync(join(dir, 'foundry-users.json'), foundry);
  const options = { platform: 'foundry', orphans: 'review', match: ['ssoId'] };
  const expected = nodePlan(options, [['source.csv', source]], [['foundry-users.json', foundry]]);

  const { page, seen } = await openPreview();
  try {
    await page.setInputFiles('#source-files', join(dir, 'source.csv'));
    await page.setInputFiles('#target-files', join(dir, 'foundry-users.json'));
    await planAndWait(page);

    assert.deepEqual(await shownCounts(page), expectedCounts(expected.plan.summary));
    assert.equal(await page.textContent('#totals [data-stat="fingerprint"]'), expected.plan.fingerprint);
    const total = expected.plan.actions.length;
    await waitShown(page, `${total} actions`);
    const rows = await visibleRows(page);
    assert.equal(rows.length, total);

    const update = rows.find(([a, key]) => a === 'update' && key === '33');
    assert.ok(update, 'the update of 33 is listed');
    assert.match(update[2], /lastName Smith → Smith\u2011Evans/);
    const invalid = rows.find(([a]) => a === 'invalid');
    assert.match(invalid[2], /source\.csv row 8/);
    assert.match(invalid[2], /active \(maybe\)/);
    assert.match(invalid[2], /not a true\/false value/);
    assert.match(rows.find(([a, key]) => a === 'review' && key === '787')[2], /no learner matches/);
    const conflict = rows.find(([a]) => a === 'conflict');
    assert.match(conflict[2], /Two learners share a key on ssoId = 1001/);
    assert.match(conflict[2], /2 learners share ssoId "1001"; nothing is done to any of them/);
    assert.match(conflict[2], /Learners: source\.csv row 9, source\.csv row 10/);

    // Hostile values are text: shown as typed, no element made, no script run.
    const xssRow = rows.find(([a, key]) => a === 'create' && key === '999');
    assert.ok(xssRow[2].includes(XSS), 'the hostile first name is shown as text');
    assert.ok((await page.textContent('#actions')).includes(XSS));
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(seen.dialogs, []);

    // Search, then a filter by the chart's bar, then back.
    await page.fill('#search', 'dismayed');
    await waitShown(page, `1 of ${total} actions match`);
    assert.deepEqual((await visibleRows(page)).map(([a, k]) => [a, k]), [['review', '787']]);
    await page.fill('#search', 'SMITH');
    await waitShown(page, `1 of ${total} actions match`);
    assert.deepEqual((await visibleRows(page)).map(([a, k]) => [a, k]), [['update', '33']]);
    await page.fill('#search', '');
    await waitShown(page, `${total} actions`);
    await page.click('#chart [data-kind="create"]');
    await waitShown(page, `2 of ${total} actions match`);
    assert.deepEqual((await visibleRows(page)).map(([a, k]) => [a, k]), [['create', '686'], ['create', '999']]);
    await page.check('#kinds input[value="invalid"]');
    await waitShown(page, `3 of ${total} actions match`);
    assert.deepEqual((await visibleRows(page)).map(([a]) => a).sort(), ['create', 'create', 'invalid']);

    // The JSON download is the engine's plan, byte for byte; the CSV has a row per action.
    const json = await download(page, '#download-json');
    assert.match(json.name, /\.json$/);
    assert.ok(json.bytes.equals(Buffer.from(expected.json, 'utf8')), 'the downloaded plan is the Node plan, byte for byte');
    const csv = await download(page, '#download-csv');
    assert.match(csv.name, /\.csv$/);
    const text = csv.bytes.toString('utf8');
    assert.equal(text, `\ufeff${planToCsv(expected.json)}`, 'the package\'s CSV of the same plan, after a byte-order mark');
    const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
    assert.match(lines[0], /^\ufeffaction/);
    assert.equal(lines.length, total + 1);

    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output/preview.png'), fullPage: true });

    // The same platform as a CSV export: converted in the page, the same plan.
    const users = JSON.parse(foundry).data;
    const platformCsv = ['id,ssoId,firstName,lastName,email,active',
      ...users.map((u) => [u.id, u.attributes.sso_id, u.attributes.first_name, u.attributes.last_name, u.attributes.email, u.attributes.active].join(','))].join('\n');
    writeFileSync(join(dir, 'platform.csv'), platformCsv);
    await page.click('#target-list button.remove');
    await page.setInputFiles('#target-files', join(dir, 'platform.csv'));
    await planAndWait(page);
    const fromCsv = nodePlan(options, [['source.csv', source]], [['platform.csv', platformCsvToNormalised(platformCsv), 'normalised']]);
    assert.deepEqual(await shownCounts(page), expectedCounts(fromCsv.plan.summary));
    assert.deepEqual(fromCsv.plan.actions, expected.plan.actions);
    assert.ok((await download(page, '#download-json')).bytes.equals(Buffer.from(fromCsv.json, 'utf8')));

    // A page that cannot be read is an error naming the file, shown as text.
    writeFileSync(join(dir, `${XSS}.json`), '<html>502 Bad Gateway</html>');
    await page.setInputFiles('#target-files', join(dir, `${XSS}.json`));
    await page.click('#plan');
    await page.waitForSelector('#status[data-phase="failed"]', { state: 'attached' });
    const error = await page.textContent('#error');
    assert.ok(error.startsWith(`MALFORMED_PAGE: ${XSS}.json: `), error);
    assert.equal(await page.locator('img').count(), 0);

    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
    assertLocalOnly(seen);

    // The page's policy refuses any connection elsewhere.
    const refused = await page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
      fetch('https://example.org/collect', { method: 'POST', body: 'learners' }).catch(() => {});
    }));
    assert.equal(refused, 'connect-src');
  } finally {
    await page.close();
  }
});

test('a European export: Windows-1252 with semicolons is refused naming row and column, then read with the encoding chosen', LONG, async () => {
  const dir = join(tmp, 'european');
  mkdirSync(dir);
  // "Müller-Œvans" in Windows-1252 (ü 0xFC, Œ 0x8C), semicolon-delimited, as Excel saves it.
  const text = 'ssoId;firstName;lastName;email;active\n33;Geoff;Müller-Œvans;geoff.smith@example.org;T\n';
  const bytes = Buffer.from([...text].map((c) => (c === 'Œ' ? 0x8c : c.codePointAt(0))));
  writeFileSync(join(dir, 'export.csv'), bytes);
  const { page, seen } = await openPreview();
  try {
    await page.setInputFiles('#source-files', join(dir, 'export.csv'));
    await page.setInputFiles('#target-files', join(ROOT, 'examples/walkthrough/foundry-users.json'));
    await page.click('#plan');
    await page.waitForSelector('#status[data-phase="failed"]', { state: 'attached', timeout: 30_000 });
    assert.match(await page.textContent('#error'), /row 2, column 3 \("lastName"\): bytes that are not UTF-8 text/);
    await page.selectOption('#encoding', 'windows-1252');
    await planAndWait(page);
    const rows = await visibleRows(page);
    const update = rows.find(([a, key]) => a === 'update' && key === '33');
    assert.ok(update, 'the update of 33 is listed');
    assert.match(update[2], /lastName Smith → Müller-Œvans/);
    // The delimiter chosen by hand gives the same plan.
    await page.selectOption('#delimiter', ';');
    await planAndWait(page);
    assert.match((await visibleRows(page)).find(([a, key]) => a === 'update' && key === '33')[2], /Müller-Œvans/);
    assertLocalOnly(seen);
  } finally {
    await page.close();
  }
});

test('100,000 learners: the right counts, progress by phase, a cancel handled while the worker plans', LONG, async () => {
  const dir = join(tmp, 'large');
  mkdirSync(dir);
  const { source, pages } = generate(100_000);
  writeFileSync(join(dir, 'learners.csv'), source);
  const pageFiles = pages.map((bytes, i) => {
    const name = `users-${String(i + 1).padStart(4, '0')}.json`;
    writeFileSync(join(dir, name), bytes);
    return name;
  });
  // Orphans deactivated: more than the mass-change guard allows, so the plan is held.
  const options = { platform: 'foundry', orphans: 'deactivate', match: ['ssoId'] };
  const expected = nodePlan(options, [['learners.csv', source]], pageFiles.map((name, i) => [name, pages[i]]));
  assert.ok(expected.plan.held, 'the generated plan is held by the guard');

  const { page, seen } = await openPreview();
  try {
    await page.selectOption('#orphans', 'deactivate');
    await page.setInputFiles('#source-files', join(dir, 'learners.csv'));
    await page.setInputFiles('#target-files', pageFiles.map((name) => join(dir, name)));

    // The page answers a click while the worker reads the platform pages: Cancel stops it.
    await page.click('#plan');
    await page.waitForSelector('#status[data-phase="target"]', { state: 'attached', timeout: 60_000 });
    await page.click('#cancel');
    assert.equal(await page.getAttribute('#status', 'data-phase'), 'cancelled');
    assert.equal(await page.isHidden('#result'), true);

    // Record every progress line the page shows while it plans again.
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => {
        const li = document.querySelector('#phases li:last-child');
        if (li && window.progressSeen.at(-1)?.[1] !== li.textContent) window.progressSeen.push([li.dataset.phase, li.textContent]);
      }).observe(document.getElementById('phases'), { childList: true, subtree: true, characterData: true });
    });
    await planAndWait(page, 120_000);

    const phases = await page.$$eval('#phases li', (lis) => lis.map((li) => li.dataset.phase));
    assert.deepEqual(phases, ['source', 'target', 'planning', 'rendering', 'done']);
    const progress = await page.evaluate(() => window.progressSeen);
    const pagesRead = progress.filter(([p]) => p === 'target').map(([, t]) => Number(/pages ([\d,]+)\//.exec(t)[1].replace(/,/g, '')));
    assert.ok(pagesRead.length >= 3, `progress through the platform pages was shown (${pagesRead.join(', ')})`);
    assert.deepEqual(pagesRead, [...pagesRead].sort((a, b) => a - b));
    assert.equal(pagesRead.at(-1), pages.length);
    assert.match(progress.findLast(([p]) => p === 'source')[1], /^Read the system of record: 100,000 learners$/);

    assert.deepEqual(await shownCounts(page), expectedCounts(expected.plan.summary));
    const total = expected.plan.actions.length;
    await waitShown(page, `${total.toLocaleString('en')} actions`);
    assert.equal(await page.textContent('#held-fingerprint'), expected.plan.held.fingerprint);
    assert.equal((await visibleRows(page)).length, 100, 'one page of 100 rows, not every action');
    await page.click('#next');
    await page.waitForFunction(() => document.getElementById('page-info').textContent.startsWith('Page 2 of'));
    assert.deepEqual((await visibleRows(page)).map(([a, k]) => [a, k]), expected.plan.actions.slice(100, 200).map((a) => [a.action, a.key ?? '']));

    const leaver = expected.plan.actions.find((a) => a.action === 'deactivate' && !a.orphan);
    await page.fill('#search', leaver.key);
    await waitShown(page, `1 of ${total.toLocaleString('en')} actions match`);
    assert.deepEqual((await visibleRows(page)).map(([a, k]) => [a, k]), [['deactivate', leaver.key]]);

    assert.ok((await download(page, '#download-json')).bytes.equals(Buffer.from(expected.json, 'utf8')));
    await page.fill('#search', '');
    await waitShown(page, `${total.toLocaleString('en')} actions`);
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output/preview-100k.png') });
    assert.deepEqual(seen.errors, []);
    assertLocalOnly(seen);
  } finally {
    await page.close();
  }
});
