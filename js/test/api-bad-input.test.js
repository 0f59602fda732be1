// Bad input at every JS entry point is a LearnerSyncError with a code: a page spec whose label
// or format is not a string, options that cannot become JSON, a Planner used after free().
// Never a wasm RuntimeError, a TypeError from the glue, or "null pointer passed to rust".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Planner, plan, sync, beginSync, stepSync, planToCsv, reportToCsv, LearnerSyncError } from '../node.js';

const CSV = 'ssoId,email,firstName,lastName\n1,ann@x.org,Ann,Lee\n';
const STEP_OPTIONS = { platform: 'foundry', baseUrl: 'https://api.example', hostAuth: true };

/** Asserts `fn` throws (or rejects with) a LearnerSyncError with `code`. */
async function refuses(fn, code, what) {
  let error;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: accepted`);
  assert.ok(error instanceof LearnerSyncError, `${what}: ${error?.name}: ${error?.message}`);
  assert.equal(error.code, code, `${what}: ${error.message}`);
  return error;
}

const BAD_SPECS = {
  'a numeric label': { label: 5 },
  'an object label': { label: {} },
  'a null label': { label: null },
  'a numeric format': { format: 5 },
  'a null format': { format: null },
  'an array format': { format: ['csv'] },
};

test('a page spec whose label or format is not a string is INVALID_INPUT at every entry point that takes pages', async () => {
  for (const [what, spec] of Object.entries(BAD_SPECS)) {
    const source = { page: CSV, ...spec };
    const target = { page: '[]', ...spec };
    const e = await refuses(() => plan({ platform: 'foundry' }, { sources: [source], targets: [] }), 'INVALID_INPUT', `plan source, ${what}`);
    assert.match(e.message, /label|format/);
    await refuses(() => plan({ platform: 'foundry' }, { sources: [CSV], targets: [target] }), 'INVALID_INPUT', `plan target, ${what}`);
    const p = new Planner({ platform: 'foundry' });
    await refuses(() => p.addSource(CSV, spec), 'INVALID_INPUT', `Planner.addSource, ${what}`);
    await refuses(() => p.addTarget('[]', spec), 'INVALID_INPUT', `Planner.addTarget, ${what}`);
    // The planner is unharmed by what it refused.
    p.addSource(CSV);
    assert.equal(p.finish().summary.learners, 1);
    p.free();
    let fetches = 0;
    const fetch = async () => {
      fetches += 1;
      throw new Error('nothing may be sent');
    };
    await refuses(() => sync({ ...STEP_OPTIONS, dryRun: true }, { sources: [source], fetch }), 'INVALID_INPUT', `sync, ${what}`);
    assert.equal(fetches, 0, `sync, ${what}: nothing sent`);
    await refuses(() => beginSync(STEP_OPTIONS, { sources: [source] }), 'INVALID_INPUT', `beginSync, ${what}`);
    const begun = beginSync(STEP_OPTIONS, { sources: [CSV] });
    await refuses(() => stepSync(begun.state, [], { baseUrl: STEP_OPTIONS.baseUrl, hostAuth: true, sources: [source] }), 'INVALID_INPUT', `stepSync, ${what}`);
  }
});

test('page options that are not an object, and sources that are not a list, are INVALID_INPUT', async () => {
  const p = new Planner({ platform: 'foundry' });
  for (const options of [null, 5, 'csv']) {
    await refuses(() => p.addSource(CSV, options), 'INVALID_INPUT', `addSource options ${JSON.stringify(options)}`);
    await refuses(() => p.addTarget('[]', options), 'INVALID_INPUT', `addTarget options ${JSON.stringify(options)}`);
  }
  p.free();
  await refuses(() => plan({ platform: 'foundry' }, { sources: CSV, targets: [] }), 'INVALID_INPUT', 'plan sources as a string');
  await refuses(() => plan({ platform: 'foundry' }, { sources: [CSV], targets: 7 }), 'INVALID_INPUT', 'plan targets as a number');
  await refuses(() => sync({ ...STEP_OPTIONS, dryRun: true }, { sources: { page: CSV } }), 'INVALID_INPUT', 'sync sources as an object');
  await refuses(() => beginSync(STEP_OPTIONS, { sources: CSV }), 'INVALID_INPUT', 'beginSync sources as a string');
  const begun = beginSync(STEP_OPTIONS, { sources: [CSV] });
  await refuses(() => stepSync(begun.state, { id: 1 }), 'INVALID_INPUT', 'stepSync answers as an object');
});

test('options that cannot become JSON are INVALID_OPTIONS, not a TypeError', async () => {
  const circular = { platform: 'foundry' };
  circular.self = circular;
  const bigint = { platform: 'foundry', guards: { maxDeactivateCount: 10n } };
  for (const [what, options] of Object.entries({ circular, bigint })) {
    await refuses(() => new Planner(options), 'INVALID_OPTIONS', `Planner, ${what}`);
    await refuses(() => plan(options, { sources: [CSV], targets: [] }), 'INVALID_OPTIONS', `plan, ${what}`);
    await refuses(() => sync({ ...options, baseUrl: 'https://api.example', hostAuth: true }, { sources: [CSV] }), 'INVALID_OPTIONS', `sync, ${what}`);
    await refuses(() => beginSync({ ...options, baseUrl: 'https://api.example', hostAuth: true }, { sources: [CSV] }), 'INVALID_OPTIONS', `beginSync, ${what}`);
  }
});

test('planToCsv and reportToCsv refuse a value that cannot become JSON with INVALID_INPUT', async () => {
  const p = plan({ platform: 'foundry' }, { sources: [CSV], targets: [] });
  p.self = p;
  await refuses(() => planToCsv(p), 'INVALID_INPUT', 'planToCsv, circular');
  await refuses(() => reportToCsv({ counts: { done: 1n } }), 'INVALID_INPUT', 'reportToCsv, bigint');
});

test('a Planner used after free(), or freed twice, is INVALID_STATE', async () => {
  for (const [what, use] of Object.entries({
    addSource: (p) => p.addSource(CSV),
    addTarget: (p) => p.addTarget('[]'),
    finish: (p) => p.finish(),
    finishJson: (p) => p.finishJson(),
    'free again': (p) => p.free(),
  })) {
    const p = new Planner({ platform: 'foundry' });
    p.free();
    const e = await refuses(() => use(p), 'INVALID_STATE', what);
    assert.match(e.message, /freed/);
  }
  // Freed, a planner holds nothing: a new one works as ever.
  assert.equal(plan({ platform: 'foundry' }, { sources: [CSV], targets: [] }).summary.create, 1);
});

test('a second argument that is not an object is INVALID_OPTIONS', async () => {
  for (const bad of [null, 5, 'x', []]) {
    await refuses(() => plan({ platform: 'foundry' }, bad), 'INVALID_OPTIONS', `plan pages ${JSON.stringify(bad)}`);
    await refuses(() => sync(STEP_OPTIONS, bad), 'INVALID_OPTIONS', `sync host ${JSON.stringify(bad)}`);
    await refuses(() => beginSync(STEP_OPTIONS, bad), 'INVALID_OPTIONS', `beginSync host ${JSON.stringify(bad)}`);
    const begun = beginSync(STEP_OPTIONS, { sources: [CSV] });
    await refuses(() => stepSync(begun.state, [], bad), 'INVALID_OPTIONS', `stepSync host ${JSON.stringify(bad)}`);
  }
  await refuses(() => beginSync(STEP_OPTIONS, { plan: plan({ platform: 'foundry' }, { sources: [CSV], targets: [] }), approve: 5 }), 'INVALID_OPTIONS', 'beginSync approve as a number');
});
