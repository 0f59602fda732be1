// Types from the truth (issue 14): real plans, sync reports, events, checkpoints and step
// results, produced by the real engine (the built wasm package) against the Foundry simulator,
// written out as typed constants (`const x: Plan = {...}`) that `tsc --strict` must accept.
// An object literal given a type is checked for excess properties too, so a field the engine
// writes and index.d.ts does not declare fails as surely as a wrong or missing one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFoundry } from '../sim/foundry.js';
import { sample } from '../demo/sample.js';
import { plan, sync, beginSync, stepSync } from '../node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WALK = join(ROOT, 'examples/walkthrough');
const SOURCE = readFileSync(join(WALK, 'source.csv'), 'utf8');
const TARGET = readFileSync(join(WALK, 'foundry-users.json'), 'utf8');
// Inside the package's own folder, so that 'learner-sync' resolves to this checkout (its
// exports map and index.d.ts) as it does in a consumer's node_modules. target/ is not committed.
const OUT = join(ROOT, 'target/types-truth');
const FAST = { limit: 500, windowMs: 1000 };
const CREDENTIALS = { clientId: 'sim-client', clientSecret: 'sim-secret' };

/** Plans of every kind of action the planner writes, and of each guard. */
function plans() {
  const walk = (options, extraSource = '') => plan({ platform: 'foundry', ...options }, { sources: [{ page: SOURCE + extraSource, label: 'source.csv' }], targets: [TARGET] });
  const out = {
    walkthrough: walk({}),
    orphansDeactivated: walk({ orphans: 'deactivate' }),
    // link by email (a first sync), a duplicate key (conflict) and a row without its key (invalid)
    linkConflictInvalid: walk({ match: ['ssoId', 'email'] }, '900,Nina,New,kate.jones@example.org,T\n686,Ellen,Twin,e2@example.org,T\n,No,Key,nokey@example.org,T\n'),
    // the source-completeness guard: every deactivation withheld
    withheld: walk({ orphans: 'deactivate', guards: { sourceIncomplete: true } }),
    // the mass-change guard: the plan held for approval
    held: walk({ orphans: 'deactivate', guards: { maxDeactivatePercent: 1, maxDeactivateCount: 1 } }),
    // a first sync: a learner found by email only is linked
    link: plan({ platform: 'foundry', match: ['ssoId', 'email'] }, {
      sources: ['ssoId,firstName,lastName,email,active\n900,Nina,New,nina@example.org,T\n'],
      targets: [{ page: JSON.stringify([{ id: 'f-1', email: 'nina@example.org', firstName: 'Nina', lastName: 'New', active: true }]), format: 'normalised' }],
    }),
    // orphans deleted (Learnifier), from a normalised page
    deleted: plan({ platform: 'learnifier', orphans: 'delete' }, {
      sources: ['ssoId,firstName,lastName,email,active\nA1,Ann,Lee,ann@example.org,true\n'],
      targets: [{ page: JSON.stringify([{ id: 'u-9', ssoId: 'Z9', firstName: 'Old', lastName: 'One', email: 'old@example.org', active: true }]), format: 'normalised' }],
    }),
  };
  // The cases this test relies on are really there (else it would check less than it says).
  const kinds = new Set(Object.values(out).flatMap((p) => p.actions.map((a) => a.action + (a.withheld ? ':withheld' : ''))));
  for (const k of ['create', 'update', 'link', 'deactivate', 'deactivate:withheld', 'delete', 'review', 'conflict', 'invalid']) assert.ok(kinds.has(k), `no ${k} action among the plans: ${[...kinds]}`);
  assert.ok(out.held.held, 'the held plan is held');
  assert.ok(out.withheld.withheld, 'the withheld plan says why');
  return out;
}

/** A fetch that answers the first create with the platform's 422 (a failed outcome in the report). */
function failingFirstCreate() {
  let failed = false;
  return async (url, init) => {
    if (!failed && init.method === 'POST' && url.includes('registration_sets')) {
      failed = true;
      return new Response(JSON.stringify({ errors: [{ title: 'has already been taken', field_name: 'email' }] }), { status: 422, headers: { 'content-type': 'application/json' } });
    }
    return fetch(url, init);
  };
}

/** Reports, events and checkpoints of real syncs, and the step results of a stateless run. */
async function runs() {
  const s = sample(40, 3);
  const sim = await startFoundry({ users: s.users, rate: FAST });
  const options = { platform: 'foundry', baseUrl: sim.url, credentials: CREDENTIALS, rate: FAST, pageSize: 20, orphans: 'deactivate', guards: { maxDeactivatePercent: 50, maxDeactivateCount: 50 } };
  try {
    // Held by the mass-change guard: nothing sent, the platform as it was for the runs below.
    const held = await sync({ ...options, guards: { maxDeactivatePercent: 0, maxDeactivateCount: 0 } }, { sources: [s.csv] });
    assert.ok(held.held, 'a held report');
    const events = [];
    // A budgeted run: suspended with a checkpoint, then resumed to the end with a failure in it.
    const budgeted = { ...options, budget: { requests: 4 } };
    const suspended = await sync(budgeted, { sources: [s.csv], onEvent: (e) => events.push(e) });
    assert.equal(suspended.suspended, true);
    const checkpoint = suspended.checkpoint;
    const failing = failingFirstCreate();
    let finished = suspended;
    for (let i = 0; !finished.finished; i++) {
      assert.ok(i < 100 && finished.suspended, 'no progress');
      finished = await sync(budgeted, { sources: [s.csv], checkpoint: finished.checkpoint, onEvent: (e) => events.push(e), fetch: failing });
    }
    assert.ok(finished.counts.failed >= 1 && finished.counts.done >= 1, JSON.stringify(finished.counts));

    // The step API, driven as a low-code recipe drives it: every step result kept.
    const steps = [];
    let step = beginSync(options, { sources: [s.csv], now: Date.now() });
    steps.push(step);
    for (let i = 0; !step.done; i++) {
      assert.ok(i < 200, 'no progress');
      const answers = [];
      for (const r of step.requests) {
        const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' });
        const headers = {};
        res.headers.forEach((v, k) => (headers[k] = v));
        answers.push({ id: r.id, status: res.status, headers, body: await res.text() });
      }
      step = stepSync(step.state, answers, { options, sources: [s.csv], now: Date.now() });
      steps.push(step);
    }
    assert.ok(steps.at(-1).report?.finished, 'the stateless run finished');
    return { suspended, finished, held, events, checkpoint, steps };
  } finally {
    await sim.close();
  }
}

test('real plans, reports, events, checkpoints and step results type-check as the types index.d.ts declares', async () => {
  const p = plans();
  const r = await runs();
  const constant = (name, type, value) => `export const ${name}: ${type} = ${JSON.stringify(value, null, 1)};\n`;
  let ts = `// Written by js/test/types-truth.test.js from the real engine's output. Not edited by hand.\n` +
    `import type { Plan, SyncReport, SyncEvent, SyncHost, StepResult } from 'learner-sync';\n\n`;
  for (const [name, value] of Object.entries(p)) ts += constant(`plan_${name}`, 'Plan', value);
  ts += constant('report_suspended', 'SyncReport', r.suspended);
  ts += constant('report_finished', 'SyncReport', r.finished);
  ts += constant('report_held', 'SyncReport', r.held);
  ts += constant('events', 'SyncEvent[]', r.events);
  // A checkpoint and a step state are opaque JSON text: they are typed as the text the host
  // hands back (`checkpoint`, `stepSync(state, …)`).
  ts += constant('checkpoint', "NonNullable<SyncHost['checkpoint']>", r.checkpoint);
  ts += constant('steps', 'StepResult[]', r.steps);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'truth.ts'), ts);
  writeFileSync(join(OUT, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [], skipLibCheck: false },
    files: ['truth.ts'],
  }));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const out = spawnSync(process.execPath, [tsc, '-p', join(OUT, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(out.status, 0, `tsc --strict refused the engine's real output (${join(OUT, 'truth.ts')}):\n${out.stdout}${out.stderr}`);
});
