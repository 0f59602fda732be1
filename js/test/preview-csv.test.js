// The preview's platform CSV conversion (js/preview/platform-csv.js): a platform export as CSV
// becomes the normalised JSON array the planner reads, and plans as the platform's own pages do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Planner, LearnerSyncError } from '../node.js';
import { isJsonPage, platformCsvToNormalised, readCsv } from '../preview/platform-csv.js';

const walk = (f) => readFileSync(new URL(`../../examples/walkthrough/${f}`, import.meta.url));
const enc = (s) => new TextEncoder().encode(s);

/** The walkthrough's Foundry users as a CSV export (U+2011 hyphens in the IDs, as in the JSON). */
const WALKTHROUGH_PLATFORM_CSV = [
  'User ID,SSO ID,First Name,Last Name,Email,Active',
  'dek\u2011123,33,Geoff,Smith,geoff.smith@example.org,true',
  'zak\u2011928,44,Kate,Jones,kate.jones@example.org,true',
  'iux\u2011332,55,Leo,Later,leo.later@example.org,true',
  'qai\u2011928,787,Dan,Dismayed,dan.dismayed@example.org,true',
].join('\r\n');

function planWith(addTargets) {
  const p = new Planner({ platform: 'foundry' });
  p.addSource(walk('source.csv'), { label: 'source.csv' });
  addTargets(p);
  const plan = p.finish();
  p.free();
  return plan;
}

test('a platform CSV plans as the platform JSON pages do', () => {
  const fromJson = planWith((p) => p.addTarget(walk('foundry-users.json')));
  const json = platformCsvToNormalised(WALKTHROUGH_PLATFORM_CSV, { label: 'users.csv' });
  const fromCsv = planWith((p) => p.addTarget(json, { format: 'normalised', label: 'users.csv' }));
  assert.deepEqual(fromCsv.actions, fromJson.actions);
  assert.deepEqual(fromCsv.summary, fromJson.summary);
});

test('headers are matched without case, spaces, _ or -; empty cells are absent; other columns ignored', () => {
  const csv = '\uFEFFUser ID,sso_id,EMPLOYEE-ID,given name,Surname,e-mail address,status,is admin,Department\n'
    + 'u1,33,,Geoff,Smith,g@example.org,Active,no,Sales\n'
    + 'u2,,E2,"Kate, Jr.","O""Neil\nJones",,inactive,yes,\n';
  assert.deepEqual(JSON.parse(platformCsvToNormalised(csv)), [
    { id: 'u1', ssoId: '33', firstName: 'Geoff', lastName: 'Smith', email: 'g@example.org', active: true, admin: false },
    { id: 'u2', employeeId: 'E2', firstName: 'Kate, Jr.', lastName: 'O"Neil\nJones', active: false, admin: true },
  ]);
});

test('externalId holds the primary key; a user without one is unmanaged; hardLock means inactive', () => {
  const csv = 'id,externalId,primaryEmail,hardLock\na,K1,a@example.org,false\nb,,b@example.org,\nc,K3,,true\n';
  assert.deepEqual(JSON.parse(platformCsvToNormalised(csv, { primary: 'employeeId' })), [
    { id: 'a', employeeId: 'K1', email: 'a@example.org' },
    { id: 'b', email: 'b@example.org', managed: false },
    { id: 'c', employeeId: 'K3', active: false },
  ]);
});

test('readCsv: CRLF, quoted line breaks, blank lines, records counted from the header', () => {
  const rows = [];
  readCsv('a,b\r\n"x\r\ny",2\r\n\r\n3,"4"', (cells, row) => rows.push([row, cells]));
  assert.deepEqual(rows, [[1, ['a', 'b']], [2, ['x\r\ny', '2']], [4, ['3', '4']]]);
});

test('an unusable platform CSV is a MALFORMED_PAGE naming the file and the row', () => {
  const cases = [
    ['email,active\na@example.org,true\n', /^users\.csv: no id column/],
    ['id,email\nu1,a@example.org,extra\n', /^users\.csv: row 2: 3 cells, the header has 2/],
    ['id,active\nu1,maybe\n', /^users\.csv: row 2: active "maybe" is not true or false/],
    ['id,email\n,a@example.org\n', /^users\.csv: row 2: no id/],
    ['id,email\nu1,"a@example.org\n', /^users\.csv: not CSV: record 2: a quoted cell is never closed/],
    ['', /^users\.csv: empty/],
  ];
  for (const [csv, message] of cases) {
    assert.throws(() => platformCsvToNormalised(csv, { label: 'users.csv' }), (e) => {
      assert.ok(e instanceof LearnerSyncError);
      assert.equal(e.code, 'MALFORMED_PAGE');
      assert.equal(e.label, 'users.csv');
      assert.match(e.message, message);
      return true;
    });
  }
});

test('isJsonPage tells list pages from CSV', () => {
  assert.equal(isJsonPage(walk('foundry-users.json')), true);
  assert.equal(isJsonPage(enc('\uFEFF  \n[{"id":"a"}]')), true);
  assert.equal(isJsonPage(enc(WALKTHROUGH_PLATFORM_CSV)), false);
  assert.equal(isJsonPage(enc('')), false);
});
