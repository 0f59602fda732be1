// The packed package, installed into fresh consumer projects: ESM import and CJS require in
// Node, the CLI from node_modules/.bin, and nothing missing from the tarball.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WALK = join(ROOT, 'examples/walkthrough');
const EXPECTED = 'update 33,deactivate 55,create 686,review 787';

test('npm pack, install, then import, require and the CLI all plan the walkthrough', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [{ filename, files }] = JSON.parse(out);
    const paths = files.map((f) => f.path);
    for (const needed of ['pkg/learner_sync_bg.wasm', 'pkg/learner_sync.js', 'js/node.js', 'js/node.cjs', 'js/browser.js', 'js/workerd.js', 'js/core.js', 'js/sync.js', 'js/errors.js', 'js/index.d.ts', 'js/cli/learner-sync.js', 'js/cli/config.js', 'js/cli/usage.js', 'js/cli/table.js', 'js/cli/progress.js']) {
      assert.ok(paths.includes(needed), `${needed} is missing from the tarball`);
    }
    assert.ok(!paths.some((p) => p.startsWith('src/') || p.startsWith('js/test/') || p.startsWith('target/')), 'sources and tests stay out');
    const consumer = join(dir, 'consumer');
    execFileSync('mkdir', ['-p', consumer]);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(dir, filename)], { cwd: consumer, stdio: 'ignore' });
    const script = (kind) =>
      kind === 'esm'
        ? `import { plan } from 'learner-sync'; import { readFileSync } from 'node:fs';
           const p = plan({ platform: 'foundry' }, { sources: [readFileSync('${WALK}/source.csv')], targets: [readFileSync('${WALK}/foundry-users.json')] });
           console.log(p.actions.map((a) => a.action + ' ' + a.key).join(','));`
        : `const { plan } = require('learner-sync'); const { readFileSync } = require('node:fs');
           const p = plan({ platform: 'foundry' }, { sources: [readFileSync('${WALK}/source.csv')], targets: [readFileSync('${WALK}/foundry-users.json')] });
           console.log(p.actions.map((a) => a.action + ' ' + a.key).join(','));`;
    writeFileSync(join(consumer, 'esm.mjs'), script('esm'));
    writeFileSync(join(consumer, 'cjs.cjs'), script('cjs'));
    const run = (file) => execFileSync(process.execPath, ['--no-warnings', file], { cwd: consumer, encoding: 'utf8' }).trim();
    assert.equal(run('esm.mjs'), EXPECTED);
    assert.equal(run('cjs.cjs'), EXPECTED);
    const cli = execFileSync(join(consumer, 'node_modules/.bin/learner-sync'), ['plan', '--platform', 'foundry', '--source', `${WALK}/source.csv`, '--target', `${WALK}/foundry-users.json`], { encoding: 'utf8' });
    assert.equal(JSON.parse(cli).actions.length, 4);
    const pkg = JSON.parse(readFileSync(join(consumer, 'node_modules/learner-sync/package.json'), 'utf8'));
    assert.equal(pkg.bin['learner-sync'], './js/cli/learner-sync.js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
