// The packed package as its users get it (issue 14): `npm pack` once, then the tarball installed
// into fresh consumer projects in a temp folder, each the way its kind of project would use it:
// Node ESM and CommonJS (and the CLI), TypeScript --strict (with @types/node 20, 22, and the DOM
// lib; ESM and CommonJS), esbuild browser bundles, a vite build and vite's dev server (all run
// in headless Chromium), and the Worker template built by wrangler's bundler and run in workerd (Miniflare).
//
// Installs are offline: the package has no dependencies, so `npm install --offline` of the
// tarball needs nothing but it. The tools (tsc, esbuild, vite, wrangler) are this project's
// devDependencies (@types/node 20 as `types-node-20`), run from here, and @types/node is linked
// from them: nothing is installed from the registry per consumer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { createServer as createViteServer } from 'vite';
import { parse } from 'smol-toml';
import { startFoundry } from '../sim/foundry.js';
import { sample } from '../demo/sample.js';
import { launchChromium } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const WALK = join(ROOT, 'examples/walkthrough');
const EXPECTED = 'update 33,deactivate 55,create 686,review 787';
const SOURCE = readFileSync(join(WALK, 'source.csv'), 'utf8');
const TARGET = readFileSync(join(WALK, 'foundry-users.json'), 'utf8');

let dir;
let tarball;
let files;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [packed] = JSON.parse(out);
  tarball = join(dir, packed.filename);
  files = packed.files.map((f) => f.path);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh project in the temp folder with the tarball installed (offline) and `extra` files written. */
function consumer(name, extra = {}, pkg = {}) {
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...pkg, dependencies: { 'learner-sync': `file:${tarball}`, ...pkg.dependencies } }, null, 2));
  for (const [file, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(at, file)), { recursive: true });
    writeFileSync(join(at, file), text);
  }
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: at, stdio: ['ignore', 'ignore', 'pipe'] });
  return at;
}

/** Runs a tool; fails the test with its output when it fails. */
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const planScript = (load) => `${load}
const p = plan({ platform: 'foundry' }, { sources: [${JSON.stringify(SOURCE)}], targets: [${JSON.stringify(TARGET)}] });
const result = p.actions.map((a) => a.action + ' ' + a.key).join(',');`;

test('the tarball holds the built package, its licence and the Worker template, and no sources', () => {
  for (const needed of ['LICENSE', 'package.json', 'pkg/learner_sync_bg.wasm', 'pkg/learner_sync.js', 'pkg/index.d.cts', 'js/node.js', 'js/node.cjs', 'js/browser.js', 'js/wasm-url.js', 'js/workerd.js', 'js/core.js', 'js/sync.js', 'js/errors.js', 'js/index.d.ts', 'js/cli/learner-sync.js', 'js/cli/config.js', 'js/cli/usage.js', 'js/cli/table.js', 'js/cli/progress.js', 'examples/cloudflare-worker/package.json', 'examples/cloudflare-worker/wrangler.toml', 'examples/cloudflare-worker/src/worker.js']) {
    assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
  }
  assert.ok(!files.some((p) => p.startsWith('src/') || p.startsWith('js/test/') || p.startsWith('target/') || p.startsWith('node_modules/')), 'sources and tests stay out');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.private, undefined, 'publishable');
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  assert.ok(pkg.keywords.length > 0);
  // Every entry that loads the wasm when imported is declared a side effect (a bundler must not drop it).
  for (const entry of ['./js/browser.js', './js/node.js', './js/workerd.js', './js/wasm-url.js']) assert.ok(pkg.sideEffects.includes(entry), entry);
  assert.ok(pkg.scripts.prepack, 'prepack');
});

test('npm pack refuses a checkout whose pkg/ lacks the .wasm or holds something else, and one it cannot build', () => {
  const copy = (name, withPkg, wasm) => {
    const at = join(dir, name);
    for (const part of ['package.json', 'scripts', 'js', 'examples', 'LICENSE', 'src', 'Cargo.toml', 'Cargo.lock']) cpSync(join(ROOT, part), join(at, part), { recursive: true });
    if (withPkg) {
      cpSync(join(ROOT, 'pkg'), join(at, 'pkg'), { recursive: true });
      if (wasm === undefined) rmSync(join(at, 'pkg/learner_sync_bg.wasm'));
      else writeFileSync(join(at, 'pkg/learner_sync_bg.wasm'), wasm);
      writeFileSync(join(at, 'pkg/.built'), ''); // newer than src/: build.sh skips
    }
    return at;
  };
  // Only node and npm on the PATH: no cargo, so a build cannot happen.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, CARGO_HOME: '/nonexistent', RUSTUP_HOME: '/nonexistent' };
  const pack = (at) => spawnSync('npm', ['pack', '--pack-destination', at], { cwd: at, encoding: 'utf8', env });
  const noWasm = pack(copy('no-wasm', true));
  assert.notEqual(noWasm.status, 0, 'packed without the .wasm');
  assert.match(noWasm.stderr, /pkg\/learner_sync_bg\.wasm is missing/);
  // An error page saved in its place (a failed download, a proxy's answer) is not a module.
  const notWasm = pack(copy('not-wasm', true, '<html>502 Bad Gateway</html>'));
  assert.notEqual(notWasm.status, 0, 'packed a .wasm that is not WebAssembly');
  assert.match(notWasm.stderr, /not a WebAssembly module/);
  const unbuilt = pack(copy('unbuilt', false));
  assert.notEqual(unbuilt.status, 0, 'packed an unbuilt checkout');
  assert.match(unbuilt.stderr, /could not build pkg\//);
  for (const at of ['no-wasm', 'not-wasm', 'unbuilt']) assert.ok(!existsSync(join(dir, at, 'learner-sync-0.1.0.tgz')), `${at}: no tarball left behind`);
});

test('Node: import, require and the CLI from node_modules/.bin all plan the walkthrough', () => {
  const at = consumer('node', {
    'esm.mjs': `${planScript("import { plan } from 'learner-sync';")}\nconsole.log(result);`,
    'cjs.cjs': `${planScript("const { plan } = require('learner-sync');")}\nconsole.log(result);`,
  });
  assert.equal(run(process.execPath, ['--no-warnings', 'esm.mjs'], at).trim(), EXPECTED);
  assert.equal(run(process.execPath, ['--no-warnings', 'cjs.cjs'], at).trim(), EXPECTED);
  const cli = run(join(at, 'node_modules/.bin/learner-sync'), ['plan', '--platform', 'foundry', '--source', `${WALK}/source.csv`, '--target', `${WALK}/foundry-users.json`], at);
  assert.equal(JSON.parse(cli).actions.length, 4);
});

// What a TypeScript consumer writes, the README's `sync(opts, { fetch })` included.
const TS_BODY = `
const options: PlanOptions = { platform: 'foundry', match: ['ssoId', 'email'], orphans: 'review' };
const p: Plan = plan(options, { sources: ['ssoId\\n1\\n'], targets: [] });
const kinds: string[] = p.actions.map((a: Action) => a.action === 'deactivate' && a.withheld ? 'withheld' : a.action);
export async function run(): Promise<number> {
  const report: SyncReport = await sync({ ...options, baseUrl: 'https://api.fifoundry.net' }, { sources: ['ssoId\\n1\\n'], fetch });
  const viaArrow: SyncReport = await sync({ ...options, baseUrl: 'https://api.fifoundry.net' }, { fetch: (url, init) => fetch(url, init) });
  return report.counts.done + viaArrow.counts.failed + kinds.length;
}
`;
const TS_FILES = {
  'esm.mts': `import { plan, sync, type Plan, type PlanOptions, type Action, type SyncReport } from 'learner-sync';\n${TS_BODY}`,
  // CommonJS: require() of the package, typed by pkg/index.d.cts.
  'cjs.cts': `import ls = require('learner-sync');\nconst { plan, sync } = ls;\ntype Plan = ls.Plan; type PlanOptions = ls.PlanOptions; type Action = ls.Action; type SyncReport = ls.SyncReport;\n${TS_BODY}`,
};

// @types/node 20 and 22 with tsc's default lib (the DOM's fetch beside Node's, as most Node
// projects have it), 22 with no DOM, and the DOM lib alone (a browser project).
for (const [name, types, lib] of [
  ['node20', 'types-node-20', undefined],
  ['node22', '@types/node', undefined],
  ['node22-no-dom', '@types/node', ['es2022']],
  ['dom', null, ['es2022', 'dom']],
]) {
  test(`TypeScript --strict (${name}): ESM and CommonJS consumers, sync(opts, { fetch }) included`, () => {
    const tsconfig = { compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: false, types: types ? ['node'] : [], lib }, files: Object.keys(TS_FILES) };
    const at = consumer(`ts-${name}`, { ...TS_FILES, 'tsconfig.json': JSON.stringify(tsconfig) }, { type: 'module' });
    if (types) {
      // @types/node as the consumer would have it, linked from this project's devDependencies.
      mkdirSync(join(at, 'node_modules/@types'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', types), join(at, 'node_modules/@types/node'));
    }
    const listed = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', at, '--listFiles'], at);
    // require() gets the CommonJS declarations, import the ESM ones (not "masquerading as ESM").
    assert.match(listed, /node_modules\/learner-sync\/pkg\/index\.d\.cts/);
    assert.match(listed, /node_modules\/learner-sync\/js\/index\.d\.ts/);
    // The types checked are the ones this case names.
    if (types) assert.match(listed, new RegExp(`/${types}/globals\\.d\\.ts`));
    assert.equal(/lib\.dom\.d\.ts/.test(listed), !lib || lib.includes('dom'));
  });
}

/** Serves a folder on loopback (the .wasm as application/wasm, as a web server would). */
async function serveFolder(root) {
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** Opens each site (a folder to serve, or a server with its URL) in headless Chromium; returns what each page planned. */
async function planInChromium(sites) {
  const browser = await launchChromium();
  const results = [];
  try {
    for (const where of sites) {
      const site = typeof where === 'string' ? await serveFolder(where) : where;
      try {
        const page = await browser.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('requestfailed', (r) => errors.push(`${r.url()} ${r.failure()?.errorText}`));
        page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`${r.url()} ${r.status()}`));
        await page.goto(site.url);
        await page.waitForFunction(() => window.result !== undefined || window.failed, null, { timeout: 20_000 }).catch(() => {});
        results.push({ result: await page.evaluate(() => window.result), errors });
        await page.close();
      } finally {
        await site.close();
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}

const MAIN = `${planScript("import { plan } from 'learner-sync';")}\nwindow.result = result;\n`;

test('browsers: esbuild bundles (the README config: the wasm beside the bundle, or inlined), a vite build and the vite dev server (no config) plan the walkthrough in Chromium', { timeout: 180_000 }, async () => {
  const at = consumer('web', {
    'src/main.js': MAIN,
    'index.html': '<!doctype html><meta charset="utf-8"><title>consumer</title><script type="module" src="/src/main.js"></script>\n',
    'esbuild/index.html': '<!doctype html><meta charset="utf-8"><title>consumer</title><script type="module" src="./main.js"></script>\n',
  }, { type: 'module' });
  // esbuild: the README's command. The `wasm-url` condition picks the entry that imports the
  // .wasm, and the file loader emits it beside the bundle.
  run(join(BIN, 'esbuild'), ['src/main.js', '--bundle', '--format=esm', '--outdir=esbuild', '--conditions=wasm-url', '--loader:.wasm=file'], at);
  // …or inlines its bytes: one file.
  cpSync(join(at, 'esbuild/index.html'), join(at, 'esbuild-inline/index.html'));
  run(join(BIN, 'esbuild'), ['src/main.js', '--bundle', '--format=esm', '--outdir=esbuild-inline', '--conditions=wasm-url', '--loader:.wasm=binary'], at);
  // vite: no config at all.
  run(join(BIN, 'vite'), ['build', '--logLevel', 'error'], at);
  // vite's dev server, no config either (its dependency pre-bundling included).
  const dev = await createViteServer({ root: at, logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
  await dev.listen();
  const [esbuilt, inlined, vited, served] = await planInChromium([join(at, 'esbuild'), join(at, 'esbuild-inline'), join(at, 'dist'), { url: dev.resolvedUrls.local[0], close: () => dev.close() }]);
  assert.equal(esbuilt.result, EXPECTED, `esbuild bundle: ${esbuilt.errors.join('\n')}`);
  assert.equal(inlined.result, EXPECTED, `esbuild bundle, wasm inlined: ${inlined.errors.join('\n')}`);
  assert.deepEqual(readdirSync(join(at, 'esbuild-inline')).sort(), ['index.html', 'main.js'], 'one file: the wasm inlined');
  assert.equal(vited.result, EXPECTED, `vite build: ${vited.errors.join('\n')}`);
  assert.equal(served.result, EXPECTED, `vite dev server: ${served.errors.join('\n')}`);
  for (const r of [esbuilt, inlined, vited, served]) assert.deepEqual(r.errors, []);
});

/** `promise`, or a failure after `ms`: a Worker that never answers fails the test instead of hanging it. */
function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('Cloudflare Worker: the template, built by `wrangler deploy --dry-run` with no config, runs a daily sync in workerd', { timeout: 180_000 }, async () => {
  const template = join(ROOT, 'examples/cloudflare-worker');
  const at = join(dir, 'worker');
  cpSync(template, at, { recursive: true });
  // The template as a user copies it, learner-sync from the tarball; wrangler is this project's.
  const pkg = JSON.parse(readFileSync(join(at, 'package.json'), 'utf8'));
  assert.ok(pkg.devDependencies.wrangler && pkg.dependencies['learner-sync'], 'the template names its dependencies');
  delete pkg.devDependencies;
  pkg.dependencies['learner-sync'] = `file:${tarball}`;
  writeFileSync(join(at, 'package.json'), JSON.stringify(pkg));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: at, stdio: ['ignore', 'ignore', 'pipe'] });
  run(join(BIN, 'wrangler'), ['deploy', '--dry-run', '--outdir', 'dist'], at);
  const wrangler = parse(readFileSync(join(at, 'wrangler.toml'), 'utf8'));

  const s = sample(60, 5);
  const sim = await startFoundry({ users: s.users, rate: { limit: 500, windowMs: 1000 } });
  const source = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/csv' }).end(s.csv));
  await new Promise((r) => source.listen(0, '127.0.0.1', r));
  // wrangler's output as it would upload it: the bundle, and the .wasm as a compiled module.
  const mf = new Miniflare({
    modules: true,
    modulesRoot: join(at, 'dist'),
    scriptPath: join(at, 'dist', wrangler.main.replace(/^src\//, '')),
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: wrangler.compatibility_date,
    kvNamespaces: wrangler.kv_namespaces.map((k) => k.binding),
    bindings: {
      ...wrangler.vars,
      LEARNER_SYNC_OPTIONS: JSON.stringify({ ...JSON.parse(wrangler.vars.LEARNER_SYNC_OPTIONS), baseUrl: sim.url, rate: { limit: 500, windowMs: 1000 } }),
      SOURCE_URL: `http://127.0.0.1:${source.address().port}/learners.csv`,
      REQUEST_BUDGET: '1000',
      FOUNDRY_CLIENT_ID: 'sim-client',
      FOUNDRY_CLIENT_SECRET: 'sim-secret',
    },
  });
  try {
    const before = await within(30_000, mf.dispatchFetch('http://worker/').then((r) => r.json()), 'GET');
    assert.deepEqual(before, { running: false, last: null });
    const w = await within(30_000, mf.getWorker(), 'the Worker');
    const tick = await within(60_000, w.scheduled({ cron: wrangler.triggers.crons[0], scheduledTime: new Date() }), 'the scheduled tick');
    assert.equal(tick.outcome, 'ok');
    const { last } = await within(30_000, mf.dispatchFetch('http://worker/').then((r) => r.json()), 'GET');
    assert.equal(last.finished, true, JSON.stringify(last));
    assert.equal(last.counts.failed, 0);
    assert.ok(last.plan.create > 0 && sim.stats().created === last.plan.create, `created ${sim.stats().created} of ${last.plan.create}`);
  } finally {
    await within(30_000, mf.dispose(), 'stopping workerd').catch(() => {});
    source.closeAllConnections();
    await sim.close();
    await new Promise((r) => source.close(r));
  }
});
