// The Worker template (examples/cloudflare-worker/) bundled against this checkout, as a bundler
// bundles it against the installed package (esbuild, the workerd condition): the template
// imports 'learner-sync', resolved here through a node_modules folder holding a link to the
// checkout and the package's exports map. Shared by the Worker tests; the real wrangler build
// of the packed package is js/test/package.test.js's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'smol-toml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEMPLATE = join(ROOT, 'examples/cloudflare-worker');
export const wrangler = parse(readFileSync(join(TEMPLATE, 'wrangler.toml'), 'utf8'));

/** Bundles the template into a fresh folder: `{out, script, remove()}`. */
export async function buildTemplate(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/learner-sync'));
  await build({
    entryPoints: [join(TEMPLATE, wrangler.main)],
    outdir: join(dir, 'out'),
    bundle: true,
    format: 'esm',
    conditions: ['workerd', 'worker', 'browser'],
    nodePaths: [join(dir, 'node_modules')],
    loader: { '.wasm': 'copy' },
    logLevel: 'error',
  });
  return { out: join(dir, 'out'), script: join(dir, 'out/worker.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
