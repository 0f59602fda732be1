// Issue 14, "The package": the CLI's small things (--version, help <command>, - for standard
// input, a dry run that does not say "applying", an unreachable platform named with why),
// European exports (semicolons, Windows-1252, UTF-16) in the CLI and the JS API, and
// `rate: "200/1s"` in the JS API. Hostile inputs first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Planner, plan, sync, beginSync, LearnerSyncError } from '../node.js';
import { startFoundry } from '../sim/foundry.js';
import { USAGE } from '../cli/usage.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'js/cli/learner-sync.js');
const FOUNDRY = join(ROOT, 'examples/walkthrough/foundry-users.json');
const SECRET = 'eu-secret-31f7c0';
const ENV = { ...process.env, FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: SECRET };

const run = (args, input) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, env: ENV });

function runAsync(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: ENV });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Text as Windows-1252 bytes (every character here is in it). */
function cp1252(text) {
  const map = { '€': 0x80, 'Œ': 0x8c, 'œ': 0x9c };
  return Uint8Array.from([...text].map((c) => map[c] ?? c.codePointAt(0)));
}

function utf16le(text) {
  const out = new Uint8Array(2 + text.length * 2);
  out.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    out[2 + 2 * i] = text.charCodeAt(i) & 0xff;
    out[3 + 2 * i] = text.charCodeAt(i) >> 8;
  }
  return out;
}

const creates = (p) => p.actions.filter((a) => a.action === 'create').map((a) => `${a.key} ${a.fields.firstName} ${a.fields.lastName}`);

// --- European exports, hostile first -------------------------------------------------------

test('API: a row written with commas under a semicolon header is invalid, naming the field', () => {
  const p = plan({ platform: 'foundry' }, { sources: ['ssoId;firstName;lastName;email\n33;Geoff;Smith;g@x.org\n44,Kate,Jones,k@x.org\n'] });
  assert.deepEqual(creates(p), ['33 Geoff Smith']);
  const invalid = p.actions.filter((a) => a.action === 'invalid');
  assert.deepEqual(invalid.map((a) => [a.row, a.field]), [[3, 'firstName']]);
  assert.match(invalid[0].reason, /commas \(,\).*semicolons \(;\)/);
});

test('API: a header with two delimiters is refused as ambiguous; the delimiter option settles it', () => {
  const src = 'ssoId;firstName;lastName;email;Notes, misc\n33;Geoff;Smith;g@x.org;a, b\n';
  assert.throws(() => plan({ platform: 'foundry' }, { sources: [src] }), (e) => e instanceof LearnerSyncError && e.code === 'MALFORMED_SOURCE' && /row 1: .*ambiguous.*--delimiter/.test(e.message));
  const p = plan({ platform: 'foundry' }, { sources: [{ page: src, delimiter: ';' }] });
  assert.deepEqual(creates(p), ['33 Geoff Smith']);
});

test('API: a delimiter inside quotes, and a byte-order mark before semicolons', () => {
  const quoted = 'ssoId;"firstName";lastName;email;"Note, text"\n33;"Smith, Geoff";"Evans; Jr";g@x.org;x\n';
  assert.deepEqual(creates(plan({ platform: 'foundry' }, { sources: [quoted] })), ['33 Smith, Geoff Evans; Jr']);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('ssoId;firstName;lastName;email\n33;Zoë;Müller;z@x.org\n')]);
  assert.deepEqual(creates(plan({ platform: 'foundry' }, { sources: [bom] })), ['33 Zoë Müller']);
});

test('API: bytes that are not UTF-8 name the row and column and suggest an encoding; declared windows-1252 reads them', () => {
  const bytes = cp1252('ssoId;firstName;lastName;email\n33;Zoë;Müller-Œ€;z@x.org\n');
  const planner = new Planner({ platform: 'foundry' });
  try {
    assert.throws(() => planner.addSource(bytes, { label: 'hr.csv' }), (e) => e.code === 'MALFORMED_SOURCE' && /^hr\.csv: row 2, column 2 \("firstName"\): bytes that are not UTF-8 text.*--encoding.*windows-1252/.test(e.message));
    planner.addSource(bytes, { label: 'hr.csv', encoding: 'windows-1252' });
    assert.deepEqual(creates(planner.finish()), ['33 Zoë Müller-Œ€']);
  } finally {
    planner.free();
  }
  // Declared UTF-8 (wrongly): refused without suggesting what was declared.
  assert.throws(() => plan({ platform: 'foundry' }, { sources: [{ page: bytes, encoding: 'utf-8' }] }), /not valid in the encoding given/);
  // UTF-16 with a byte-order mark and tabs: Excel's "Unicode text".
  assert.deepEqual(creates(plan({ platform: 'foundry' }, { sources: [utf16le('ssoId\tfirstName\tlastName\temail\r\n33\tZoë\tMüller\tz@x.org\r\n')] })), ['33 Zoë Müller']);
});

test('API: unknown delimiters and encodings, and non-string ones, are refused by name', () => {
  const src = 'ssoId,firstName,lastName,email\n33,A,B,a@x.org\n';
  assert.throws(() => plan({ platform: 'foundry' }, { sources: [{ page: src, delimiter: '|' }] }), (e) => e.code === 'INVALID_OPTIONS' && /delimiter must be/.test(e.message));
  assert.throws(() => plan({ platform: 'foundry' }, { sources: [{ page: src, encoding: 'klingon' }] }), (e) => e.code === 'INVALID_OPTIONS' && /unknown encoding "klingon"/.test(e.message));
  assert.throws(() => plan({ platform: 'foundry' }, { sources: [{ page: src, encoding: 1252 }] }), (e) => e.code === 'INVALID_INPUT' && /encoding of sources\[0\] must be a string/.test(e.message));
});

test('CLI: --delimiter and --encoding read a Windows-1252 semicolon export; without them the error says what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-eu-'));
  try {
    const file = join(dir, 'export.csv');
    writeFileSync(file, cp1252('ssoId;firstName;lastName;email;active\n33;Geoff;Smith-Œvans;geoff.smith@example.org;true\n'));
    const base = ['plan', '--platform', 'foundry', '--source', file, '--target', FOUNDRY];
    const refused = run(base);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /row 2, column 3 \("lastName"\): bytes that are not UTF-8 text.*--encoding/);
    const ok = run([...base, '--encoding', 'windows-1252', '--delimiter', ';']);
    assert.equal(ok.status, 0, ok.stderr);
    const p = JSON.parse(ok.stdout);
    assert.deepEqual(p.actions[0].changes, { lastName: { from: 'Smith', to: 'Smith-Œvans' } });
    const bad = run([...base, '--delimiter', 'pipe']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /delimiter must be/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- The CLI's small things ---------------------------------------------------------------

test('CLI: --version prints the package version, exit 0', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0, r.stderr);
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(r.stdout, `learner-sync ${version}\n`);
});

test('CLI: help <command> and <command> --help print that command\'s help; help of an unknown command exits 2', () => {
  for (const command of ['plan', 'sync']) {
    const r = run(['help', command]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, USAGE[command] + '\n');
    assert.equal(run([command, '--help']).stdout, USAGE[command] + '\n');
  }
  const unknown = run(['help', 'frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  assert.match(run(['help']).stdout, /help <command>/);
});

test('CLI: - reads a file from standard input, once', () => {
  const src = readFileSync(join(ROOT, 'examples/walkthrough/source.csv'));
  const r = run(['plan', '--platform', 'foundry', '--source', '-', '--target', FOUNDRY], src);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).actions.map((a) => `${a.action} ${a.key}`), ['update 33', 'deactivate 55', 'create 686', 'review 787']);
  // The target from standard input, the config file too.
  const t = run(['plan', '--config', '-', '--source', join(ROOT, 'examples/walkthrough/source.csv'), '--target', FOUNDRY], '{"platform": "foundry"}');
  assert.equal(t.status, 0, t.stderr);
  const twice = run(['plan', '--platform', 'foundry', '--source', '-', '--target', '-'], src);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /cannot read target file from standard input \(-\): it was read already/);
});

test('CLI: --dry-run never prints "applying"', async () => {
  const sim = await startFoundry({ clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  try {
    const r = await runAsync(['sync', '--platform', 'foundry', '--base-url', sim.url, '--source', join(ROOT, 'examples/walkthrough/source.csv'), '--rate', '200/1s', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /listing/);
    assert.doesNotMatch(r.stderr, /applying/);
    assert.equal(sim.stats().created, 0);
  } finally {
    await sim.close();
  }
});

test('CLI: an unreachable platform is named with why (DNS, refused, TLS), at once, never with the credential', async () => {
  // A TLS server whose certificate nobody trusts, on loopback (when openssl is there to make one).
  const dir = mkdtempSync(join(tmpdir(), 'ls-tls-'));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost']);
  let tls;
  if (made.status === 0) {
    tls = createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (q, r) => r.end('{}'));
    await new Promise((r) => tls.listen(0, 'localhost', r));
  }
  // A port nothing listens on: one taken, then freed.
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const cases = [
    ['https://no-such-host.invalid', /cannot reach no-such-host\.invalid: the host name does not resolve \(DNS lookup failed\) \(ENOTFOUND\)/],
    [`http://127.0.0.1:${port}`, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}: the connection was refused .*\\(ECONNREFUSED\\)`)],
  ];
  if (tls) cases.push([`https://localhost:${tls.address().port}`, /cannot reach localhost:\d+: the TLS handshake failed .*\(DEPTH_ZERO_SELF_SIGNED_CERT\)/]);
  try {
    for (const [url, re] of cases) {
      const r = await runAsync(['sync', '--platform', 'foundry', '--base-url', url, '--source', join(ROOT, 'examples/walkthrough/source.csv')]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /\[PLATFORM_UNREACHABLE\]/);
      assert.match(r.stderr, /; 1 requests, 0 retries/, 'no retry of a wrong address');
      assert.doesNotMatch(r.stderr, /fetch failed/);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET));
    }
  } finally {
    tls?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- rate "200/1s" in the JS API -----------------------------------------------------------

test('API: rate "200/1s" works in sync() and beginSync(), as in the config file; a malformed one is refused', async () => {
  const sim = await startFoundry({ clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  const credentials = { clientId: 'sim-client', clientSecret: SECRET };
  const csv = 'ssoId,firstName,lastName,email\n1,A,B,a@x.org\n2,C,D,c@x.org\n';
  try {
    const report = await sync({ platform: 'foundry', baseUrl: sim.url, credentials, rate: '200/1s' }, { sources: [csv] });
    assert.equal(report.error, undefined);
    assert.equal(report.counts.done, 2);
    const step = await beginSync({ platform: 'foundry', baseUrl: sim.url, credentials, rate: '200/1s' }, { sources: [csv] });
    assert.ok(step.requests.length >= 1);
    for (const rate of ['200 per second', '0/1s', '200/0s', '200/1h']) {
      await assert.rejects(sync({ platform: 'foundry', baseUrl: sim.url, credentials, rate }, { sources: [csv] }), (e) => e.code === 'INVALID_OPTIONS' && /rate must be "200\/60s"/.test(e.message), rate);
    }
  } finally {
    await sim.close();
  }
});

test('API: an aborted signal interrupts sync(): suspended, interrupted, a checkpoint that resumes', async () => {
  const sim = await startFoundry({ clientSecret: SECRET, rate: { limit: 200, windowMs: 1000 } });
  const credentials = { clientId: 'sim-client', clientSecret: SECRET };
  let csv = 'ssoId,firstName,lastName,email\n';
  for (let i = 0; i < 40; i++) csv += `${i},F,L,p${i}@x.org\n`;
  try {
    const controller = new AbortController();
    const options = { platform: 'foundry', baseUrl: sim.url, credentials, rate: { limit: 200, windowMs: 1000 }, concurrency: 2 };
    const report = await sync(options, {
      sources: [csv],
      signal: controller.signal,
      onEvent: (e) => e.type === 'progress' && e.phase === 'applying' && e.done === 5 && controller.abort(),
    });
    assert.equal(report.suspended, true);
    assert.equal(report.interrupted, true);
    assert.equal(report.created.length, sim.stats().created);
    assert.ok(report.created.length < 40);
    const rest = await sync(options, { sources: [csv], checkpoint: report.checkpoint });
    assert.equal(rest.finished, true);
    assert.equal(sim.stats().created, 40);
    await assert.rejects(sync(options, { sources: [csv], signal: 'stop' }), (e) => e.code === 'INVALID_OPTIONS' && /host\.signal must be an AbortSignal/.test(e.message));
  } finally {
    await sim.close();
  }
});
