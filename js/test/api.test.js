// The JS API on the built package, in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Planner, plan, planToCsv, reportToCsv, LearnerSyncError } from '../node.js';
import { readCsvRecords } from './read-csv.js';

const walk = (f) => readFileSync(new URL(`../../examples/walkthrough/${f}`, import.meta.url));
const SOURCE = walk('source.csv');
const FOUNDRY = walk('foundry-users.json');

test('the walkthrough plan, from bytes', () => {
  const p = plan({ platform: 'foundry' }, { sources: [SOURCE], targets: [FOUNDRY] });
  assert.deepEqual(
    p.actions.map((a) => [a.action, a.key]),
    [['update', '33'], ['deactivate', '55'], ['create', '686'], ['review', '787']],
  );
  assert.deepEqual(p.actions[0].changes, { lastName: { from: 'Smith', to: 'Smith\u2011Evans' } });
  assert.equal(p.summary.unchanged, 1);
  assert.equal(p.options.platform, 'foundry');
  assert.match(p.fingerprint, /^[0-9a-f]{16}$/);
});

test('pages may be strings, bytes, ArrayBuffers or JSON values, with labels', () => {
  const asText = plan({ platform: 'foundry' }, { sources: [SOURCE.toString('utf8')], targets: [JSON.parse(FOUNDRY)] });
  const asBuffer = plan(
    { platform: 'foundry' },
    { sources: [{ page: SOURCE.buffer.slice(SOURCE.byteOffset, SOURCE.byteOffset + SOURCE.byteLength), label: 'hr.csv' }], targets: [FOUNDRY] },
  );
  assert.deepEqual(asText.actions.map((a) => a.action), asBuffer.actions.map((a) => a.action));
  assert.equal(asBuffer.actions.find((a) => a.action === 'create').source, 'hr.csv');
});

test('the same inputs give the same bytes', () => {
  const run = () => {
    const p = new Planner({ platform: 'foundry', match: ['ssoId', 'email'] });
    p.addSource(SOURCE);
    p.addTarget(FOUNDRY);
    const json = p.finishJson();
    p.free();
    return json;
  };
  assert.equal(run(), run());
});

test('page stats report records and paging', () => {
  const p = new Planner({ platform: 'foundry' });
  assert.deepEqual(p.addSource(SOURCE, { label: 'hr.csv' }), { label: 'hr.csv', records: 5, invalid: 0 });
  assert.deepEqual(p.addTarget(FOUNDRY), { label: 'target page 1', records: 4, invalid: 0, hasMore: false });
  p.free();
});

test('errors carry a stable code and the page label', () => {
  assert.throws(() => new Planner({ platform: 'moodle' }), (e) => e instanceof LearnerSyncError && e.code === 'INVALID_OPTIONS');
  assert.throws(() => new Planner({ platform: 'foundry', orphans: 'delete' }), /foundry has no way to delete users/);
  assert.throws(() => new Planner(), (e) => e.code === 'INVALID_OPTIONS');
  const p = new Planner({ platform: 'foundry', mapping: { ssoId: 'Employee SSO' } });
  assert.throws(() => p.addTarget('<html>502</html>', { label: 'users-7.json' }), (e) => {
    assert.equal(e.code, 'MALFORMED_PAGE');
    assert.equal(e.label, 'users-7.json');
    assert.match(e.message, /^users-7\.json: not a Foundry users page/);
    return true;
  });
  assert.throws(() => p.addSource(SOURCE, { label: 'hr.csv' }), (e) => {
    assert.equal(e.code, 'MISSING_COLUMN');
    assert.equal(e.field, 'ssoId');
    assert.equal(e.column, 'Employee SSO');
    return true;
  });
  assert.throws(() => p.addSource(SOURCE, { format: 'xlsx' }), (e) => e.code === 'INVALID_OPTIONS');
  assert.throws(() => p.addSource(42), (e) => e.code === 'INVALID_INPUT');
  // The planner is still usable after refused pages.
  assert.equal(p.finish().summary.learners, 0);
  p.free();
});

test('hostile text stays text, and unicode survives the round trip', () => {
  const src = 'ssoId,firstName,lastName,email,active\n1,<img src=x onerror=alert(1)>,O\u2019Brien,a@x.org,true\n';
  const p = plan({ platform: 'foundry' }, { sources: [src], targets: [] });
  assert.equal(p.actions[0].fields.firstName, '<img src=x onerror=alert(1)>');
  assert.equal(p.actions[0].fields.lastName, 'O\u2019Brien');
});

test('a larger realm plans the expected counts', () => {
  const n = 5000;
  const rows = ['ssoId,firstName,lastName,email,active'];
  const users = [];
  for (let i = 0; i < n; i++) {
    rows.push(`${i},F${i},L${i},u${i}@x.org,${i % 50 === 0 ? 'false' : 'true'}`);
    if (i % 10 !== 0) users.push({ id: `p${i}`, ssoId: String(i), firstName: `F${i}`, lastName: i % 20 === 1 ? 'Old' : `L${i}`, email: `u${i}@x.org`, active: true });
  }
  users.push({ id: 'orphan', ssoId: 'zz', firstName: 'O', lastName: 'P', email: 'o@x.org', active: true });
  const p = plan({ platform: 'foundry' }, { sources: [rows.join('\n')], targets: [users] });
  const s = p.summary;
  // i % 10 == 0 have no user: active ones are created, i % 50 == 0 are inactive (untouched).
  assert.equal(s.create, n / 10 - n / 50);
  assert.equal(s.untouched, n / 50);
  assert.equal(s.update, n / 20);
  assert.equal(s.review, 1);
  assert.equal(s.unchanged, n - n / 10 - n / 20);
  assert.equal(p.actions.length, s.create + s.update + s.review);
});

test('planToCsv: the walkthrough plan as spreadsheet rows, from the object or its JSON text', () => {
  const p = plan({ platform: 'foundry' }, { sources: [{ page: SOURCE, label: 'hr.csv' }], targets: [FOUNDRY] });
  const csv = planToCsv(p);
  assert.equal(planToCsv(JSON.stringify(p)), csv);
  assert.match(csv, /^action,key,platformId,email,firstName,lastName,ssoId,employeeId,studentId,active,changes,reason,orphan,withheld,matchedBy,conflict,field,value,source,row,rows,platformIds,held\r\n/);
  const { records } = readCsvRecords(csv);
  assert.deepEqual(records.map((r) => `${r.action} ${r.key} ${r.platformId}`), ['update 33 dek\u2011123', 'deactivate 55 iux\u2011332', 'create 686 ', 'review 787 qai\u2011928']);
  assert.equal(records[0].changes, 'lastName: Smith \u2192 Smith\u2011Evans');
  assert.deepEqual([records[2].email, records[2].firstName, records[2].source, records[2].row], ['ellen.cohen@example.org', 'Ellen', 'hr.csv', '5']);
  assert.equal(records[3].orphan, 'yes');
  // The update and the leaver name their platform user (issue 12 item 8).
  assert.deepEqual([records[0].email, records[0].firstName, records[1].email, records[1].lastName], ['geoff.smith@example.org', 'Geoff', 'leo.later@example.org', 'Later']);
});

test('planToCsv and reportToCsv make formula cells inert and refuse what is not a plan', () => {
  const src = 'ssoId,firstName,lastName,email,active\n-5,=HYPERLINK("http://x"),"Lee, ""Jr""",a@x.org,true\n';
  const { records } = readCsvRecords(planToCsv(plan({ platform: 'foundry' }, { sources: [src], targets: [] })));
  assert.deepEqual([records[0].key, records[0].firstName, records[0].lastName], ['-5', "'=HYPERLINK(\"http://x\")", 'Lee, "Jr"']);
  for (const bad of ['{"actions": 1}', 'not json', 42, null]) {
    assert.throws(() => planToCsv(bad), (e) => e instanceof LearnerSyncError && e.code === 'INVALID_INPUT', String(bad));
    assert.throws(() => reportToCsv(bad), (e) => e instanceof LearnerSyncError && e.code === 'INVALID_INPUT', String(bad));
  }
  const report = {
    mode: 'full', dryRun: false, finished: true, counts: { done: 1, failed: 0, skipped: 0 }, requests: 1, retries: 0,
    rateLimited: 0, pagesRead: 1, elapsedMs: 5, created: [], outcomes: [{ action: 'update', key: '33', platformId: 'u1', state: 'done', attempts: 1 }],
  };
  assert.equal(reportToCsv(report), 'action,key,platformId,state,status,error,reason,attempts,source,row\r\nupdate,33,u1,done,,,,1,,\r\n');
});
