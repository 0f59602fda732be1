// Ctrl-C and SIGTERM in the middle of a real sync (issue 14): the CLI, a real child process,
// is sent the signal while it creates learners in the Foundry simulator. It must send nothing
// new, wait for the answers in flight (so no create is lost from the report), print the
// summary, write the report and a checkpoint, and exit 130 (143); the same command with
// --resume then finishes the job with nobody created twice (also after SIGKILL, from the
// checkpoint --checkpoint keeps before each batch of writes). Also on a real pseudo-terminal
// (`script`), where the progress is a bar redrawn in place and Ctrl-C is the byte 0x03.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFoundry } from '../sim/foundry.js';
import { assertConverged, assertNoDuplicates } from './sim-checks.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'js/cli/learner-sync.js');
// The simulator's default secret: assertConverged signs with it.
const SECRET = 'sim-secret';
const ENV = { ...process.env, FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: SECRET };
// Slow enough that a signal lands mid-run: 20 requests a second, on both sides.
const RATE = { limit: 20, windowMs: 1000 };
const N = 120;

function csv() {
  let s = 'ssoId,firstName,lastName,email,active\n';
  for (let i = 0; i < N; i++) s += `${1000 + i},F${i},L${i},p${i}@example.org,true\n`;
  return s;
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ls-int-'));
  writeFileSync(join(dir, 'hr.csv'), csv());
  // Every answer takes 200 ms, so requests are in flight whenever the signal comes.
  const sim = await startFoundry({ clientSecret: SECRET, rate: RATE, faults: { slow: { p: 1, ms: 200 } } });
  const args = ['sync', '--platform', 'foundry', '--base-url', sim.url, '--source', 'hr.csv', '--rate', '20/1s', '--report', 'report.json'];
  return { dir, sim, args };
}

function child(args, cwd) {
  const p = spawn(process.execPath, [CLI, ...args], { env: ENV, cwd });
  const out = { stdout: '', stderr: '' };
  p.stdout.on('data', (d) => (out.stdout += d));
  p.stderr.on('data', (d) => (out.stderr += d));
  out.exit = new Promise((resolve) => p.on('exit', (status, signal) => resolve({ status, signal })));
  out.process = p;
  return out;
}

async function until(what, check) {
  for (let i = 0; i < 600; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The checks after an interruption: what reached the platform is what the report says. */
function checkInterrupted(sim, dir, stderr, checkpointFile) {
  assert.match(stderr, /sending nothing new, waiting for the answers in flight/);
  assert.match(stderr, /\d+ done, 0 failed, \d+ skipped; \d+ requests/, 'the summary');
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  assert.equal(report.suspended, true);
  assert.equal(report.interrupted, true);
  assert.equal(report.error, undefined);
  // Every create that reached the platform has its answer, and its ID, in the report.
  assert.equal(report.created.length, sim.stats().created);
  assert.ok(report.created.length > 0 && report.created.length < N, `${report.created.length} created before the signal`);
  // Nothing was sent after the last answer was handed back: the report counts every request.
  assert.equal(sim.stats().requests, report.requests);
  assert.ok(existsSync(join(dir, checkpointFile)), 'the checkpoint file');
  assert.equal(statSync(join(dir, checkpointFile)).mode & 0o077, 0, 'readable by the user only');
  assert.match(stderr, new RegExp(`checkpoint written to ${checkpointFile.replace('.', '\\.')}; to carry on, run the same command with --resume`));
  assert.ok(!stderr.includes(SECRET) && !readFileSync(join(dir, checkpointFile), 'utf8').includes(SECRET));
  return report;
}

async function resumeAndCheck(sim, dir, args, checkpointFile, first) {
  const again = child([...args, '--resume', checkpointFile], dir);
  const { status } = await again.exit;
  assert.equal(status, 0, again.stderr);
  const second = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  assert.equal(second.finished, true);
  // The resumed run's report covers the whole run: the first invocation's creates too.
  assert.equal(second.created.length, N, 'every learner created, once');
  for (const c of first.created) assert.ok(second.created.some((d) => d.platformId === c.platformId), `${c.key} kept in the resumed report`);
  assert.equal(sim.stats().created, N, 'nobody created twice');
  assertNoDuplicates(sim.users());
  assert.ok(!existsSync(join(dir, checkpointFile)), 'a finished run removes its checkpoint');
  await assertConverged(sim, csv(), RATE);
}

test('Ctrl-C mid-sync: nothing new sent, answers awaited, summary, report and checkpoint, exit 130; --resume finishes with no duplicate', async () => {
  const { dir, sim, args } = await setup();
  try {
    const run = child(args, dir);
    await until('a few creates', () => sim.stats().created >= 15);
    run.process.kill('SIGINT');
    const { status } = await run.exit;
    assert.equal(status, 130, run.stderr);
    assert.match(run.stderr, /interrupted \(Ctrl-C\)/);
    const first = checkInterrupted(sim, dir, run.stderr, 'learner-sync.checkpoint.json');
    await resumeAndCheck(sim, dir, args, 'learner-sync.checkpoint.json', first);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM with --checkpoint FILE: exit 143, the checkpoint kept in FILE, resumed from it', async () => {
  const { dir, sim, args } = await setup();
  try {
    const run = child([...args, '--checkpoint', 'state.json'], dir);
    await until('a few creates', () => sim.stats().created >= 30);
    // Kept up to date during the run, before each batch of writes.
    assert.ok(existsSync(join(dir, 'state.json')));
    run.process.kill('SIGTERM');
    const { status } = await run.exit;
    assert.equal(status, 143, run.stderr);
    assert.match(run.stderr, /terminated \(SIGTERM\)/);
    const first = checkInterrupted(sim, dir, run.stderr, 'state.json');
    await resumeAndCheck(sim, dir, args, 'state.json', first);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILL with --checkpoint FILE: the checkpoint saved before each batch of writes resumes with no duplicate', async () => {
  const { dir, sim, args } = await setup();
  try {
    const run = child([...args, '--checkpoint', 'state.json'], dir);
    await until('a few creates', () => sim.stats().created >= 30);
    // No handler runs: the writes in flight are lost with the process.
    run.process.kill('SIGKILL');
    const { signal } = await run.exit;
    assert.equal(signal, 'SIGKILL');
    const before = sim.stats().created;
    assert.ok(before < N);
    const again = child([...args, '--resume', 'state.json'], dir);
    const { status } = await again.exit;
    assert.equal(status, 0, again.stderr);
    assert.equal(sim.stats().created, N, 'nobody created twice, nobody left out');
    assertNoDuplicates(sim.users());
    assert.ok(!existsSync(join(dir, 'state.json')), 'a finished run removes its checkpoint');
    await assertConverged(sim, csv(), RATE);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test('on a real terminal (script): Ctrl-C typed mid-sync ends the bar, prints the summary and the checkpoint, exit 130', { skip: !hasScript && 'no script(1)' }, async () => {
  const { dir, sim, args } = await setup();
  try {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    // -e: script exits with the command's code; stdin is forwarded to the terminal, where
    // the byte 0x03 is Ctrl-C: the terminal sends SIGINT to the foreground process.
    const p = spawn('script', ['-qec', command, '/dev/null'], { env: ENV, cwd: dir });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const exit = new Promise((resolve) => p.on('exit', (status) => resolve(status)));
    await until('a few creates', () => sim.stats().created >= 15);
    assert.match(out, /\r\x1b\[2Kapplying \[#* *\] \d+%/, 'a bar redrawn in place on a terminal');
    p.stdin.write('\x03');
    const status = await exit;
    assert.equal(status, 130, out);
    // The interruption line starts clean (the bar's line cleared), and the bar ends before the summary.
    assert.match(out, /\r\x1b\[2Klearner-sync: interrupted \(Ctrl-C\): sending nothing new/);
    checkInterrupted(sim, dir, out.replace(/\r\n/g, '\n'), 'learner-sync.checkpoint.json');
    assert.match(out, /\n\d+ done, 0 failed/, 'the summary on a line of its own');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
