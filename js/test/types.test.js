// The TypeScript definitions compile against a consumer that uses every part of the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

test('index.d.ts type-checks a consumer under --strict', () => {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const project = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the JS glue type-checks (// @ts-check, tsc -p js) against the wasm-bindgen declarations', () => {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const project = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Every file the check names says so itself, for editors that run without the project.
  const { files } = JSON.parse(readFileSync(project, 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  for (const f of files.filter((f) => f.endsWith('.js'))) {
    assert.match(readFileSync(fileURLToPath(new URL(`../${f}`, import.meta.url)), 'utf8'), /^\/\/ @ts-check\n/, f);
  }
});
