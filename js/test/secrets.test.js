// Secrets never appear, in any encoding (issue 10, item 5): a platform that echoes what it was
// sent (the hostile proxy's `reflectSecret`: the Authorization header and the body, raw,
// URL-encoded, JSON-escaped, base64-encoded and cut part-way) puts no credential, access token
// or base64 of key:secret on stderr, stdout, the report file or the events, through the CLI
// and through the JS API; an option given a credential of the wrong type is refused without
// its value. The checks below never print a secret: a leak is named by its form's number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFoundry } from '../sim/foundry.js';
import { startLearnifier } from '../sim/learnifier.js';
import { startHostile } from './hostile.js';
import { sync, beginSync, redactSecrets, LearnerSyncError } from '../node.js';
import { runCli } from './run-cli.js';

// Characters that URL-encoding, JSON-escaping and base64 each change.
const FOUNDRY_ID = 'sim-client';
const FOUNDRY_SECRET = 'Zq+9/Kx=SECRETV"al\\ue-77f3';
const LEARNIFIER_KEY = 'lrn-key-8842';
const LEARNIFIER_SECRET = 'S3CR3T-XK/9+q=lrn-4d2c';
const SOURCE = 'ssoId,firstName,lastName,email,active\n686,Ellen,Cohen,ellen@example.org,true\n687,Ola,Berg,ola@example.org,true\n';
const FAST = { limit: 200, windowMs: 1000 };

/**
 * The forms a leak of `secret` could take, written apart from the engine's list: raw, URL-encoded
 * once and twice, JSON-escaped, and the characters of base64 and base64url that depend on the
 * secret alone, at each of the three byte alignments in a longer encoded text.
 */
function forms(secret) {
  const out = new Set([secret, encodeURIComponent(secret), encodeURIComponent(encodeURIComponent(secret)), JSON.stringify(secret).slice(1, -1)]);
  const bytes = Buffer.from(secret);
  for (const lead of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(lead), bytes]);
    const whole = Math.floor(padded.length / 3) * 4;
    for (const encoding of ['base64', 'base64url']) out.add(padded.toString(encoding).slice([0, 2, 3][lead], whole));
  }
  return [...out];
}

/** Which secret's which form shows 8 characters in `text` (without case), or null. */
function leak(text, secrets) {
  const hay = text.toLowerCase();
  for (const [s, secret] of secrets.entries()) {
    for (const [f, form] of forms(secret).entries()) {
      const lower = form.toLowerCase();
      for (let i = 0; i + 8 <= lower.length; i++) if (hay.includes(lower.slice(i, i + 8))) return `form ${f} of secret ${s}, at character ${i}`;
    }
  }
  return null;
}

const FOUNDRY_SECRETS = [FOUNDRY_SECRET, `${FOUNDRY_ID}:${FOUNDRY_SECRET}`, 'sim-token-1'];
const LEARNIFIER_SECRETS = [LEARNIFIER_SECRET, `${LEARNIFIER_KEY}:${LEARNIFIER_SECRET}`];


let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-secrets-'));
  writeFileSync(join(dir, 'hr.csv'), SOURCE);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function behindHostile(start, mode, fn) {
  const sim = await start();
  const hostile = await startHostile(sim.url, mode);
  try {
    return await fn(hostile);
  } finally {
    await hostile.close();
    await sim.close();
  }
}

const foundry = () => startFoundry({ users: [], clientId: FOUNDRY_ID, clientSecret: FOUNDRY_SECRET, rate: FAST });
const learnifier = () => startLearnifier({ users: [], key: LEARNIFIER_KEY, secret: LEARNIFIER_SECRET });
const FOUNDRY_ENV = { FOUNDRY_CLIENT_ID: FOUNDRY_ID, FOUNDRY_CLIENT_SECRET: FOUNDRY_SECRET };
const LEARNIFIER_ENV = { LEARNIFIER_KEY, LEARNIFIER_SECRET };

/** Runs the CLI's sync against the hostile proxy; checks stdout, stderr and the report file. */
async function cliRun(platform, hostile, env, secrets, extra = []) {
  const report = join(dir, `${platform}-${Date.now()}.json`);
  const r = await runCli(['sync', '--platform', platform, '--base-url', hostile.url, '--source', join(dir, 'hr.csv'), '--report', report, '--format', 'json', ...extra], env);
  const saved = readFileSync(report, 'utf8');
  for (const [what, text] of Object.entries({ stdout: r.stdout, stderr: r.stderr, report: saved })) {
    assert.equal(leak(text, secrets), null, `${platform}: ${what}`);
  }
  assert.equal(r.status, 1, 'the refused writes (or token) fail the run');
  // The echo reached the engine, and was redacted rather than dropped.
  assert.match(r.stderr, /\[redacted\]/);
  return r;
}

test('the CLI against a Foundry that echoes each write\'s bearer token, in every encoding, shows no token on stderr, stdout or in the report', async () => {
  await behindHostile(foundry, { reflectSecret: true }, async (hostile) => {
    const r = await cliRun('foundry', hostile, FOUNDRY_ENV, FOUNDRY_SECRETS, ['--rate', '200/1s']);
    assert.match(r.stderr, /failed: .*create 686/);
  });
});

test('the CLI against a Foundry that echoes the token request (client secret URL-encoded, cut part-way) shows no secret', async () => {
  await behindHostile(foundry, { reflectSecret: 'token' }, async (hostile) => {
    const r = await cliRun('foundry', hostile, FOUNDRY_ENV, FOUNDRY_SECRETS, ['--rate', '200/1s']);
    assert.match(r.stderr, /AUTH_FAILED/);
  });
});

test('the CLI against a Learnifier that echoes the Basic header (base64 of key:secret) shows neither key:secret nor the secret', async () => {
  await behindHostile(learnifier, { reflectSecret: true }, async (hostile) => {
    const r = await cliRun('learnifier', hostile, LEARNIFIER_ENV, LEARNIFIER_SECRETS);
    assert.match(r.stderr, /failed: .*create 686/);
  });
});

test('sync() against platforms that echo their credentials gives a report and events with no secret in any encoding', async () => {
  const cases = [
    ['foundry', foundry, { clientId: FOUNDRY_ID, clientSecret: FOUNDRY_SECRET }, FOUNDRY_SECRETS, true],
    ['foundry', foundry, { clientId: FOUNDRY_ID, clientSecret: FOUNDRY_SECRET }, FOUNDRY_SECRETS, 'token'],
    ['learnifier', learnifier, { key: LEARNIFIER_KEY, secret: LEARNIFIER_SECRET }, LEARNIFIER_SECRETS, true],
  ];
  for (const [platform, start, credentials, secrets, reflectSecret] of cases) {
    await behindHostile(start, { reflectSecret }, async (hostile) => {
      const events = [];
      const report = await sync(
        { platform, baseUrl: hostile.url, credentials, rate: FAST, retry: { maxAttempts: 1 } },
        { sources: [SOURCE], onEvent: (e) => events.push(e), env: {} },
      );
      const what = `${platform}, reflectSecret ${reflectSecret}`;
      // Refused writes fail; a refused token stops the run before it plans.
      assert.ok(report.counts.failed > 0 || report.error?.code === 'AUTH_FAILED', what);
      assert.match(JSON.stringify(report), /\[redacted\]/, what);
      assert.equal(leak(JSON.stringify(report), secrets), null, `${what}: report`);
      assert.equal(leak(JSON.stringify(events), secrets), null, `${what}: events`);
    });
  }
});

test('a credential option of the wrong type is refused with INVALID_OPTIONS without its value, in sync and beginSync', async () => {
  const base = { platform: 'foundry', baseUrl: 'https://api.example' };
  for (const clientSecret of [98765432109, { value: 'objectsecret-5521' }, ['arraysecret-5521'], true]) {
    for (const run of [
      () => sync({ ...base, credentials: { clientId: FOUNDRY_ID, clientSecret } }, { sources: [SOURCE], env: {}, fetch: () => assert.fail('nothing is sent') }),
      () => beginSync({ ...base, credentials: { clientId: FOUNDRY_ID, clientSecret } }, { sources: [SOURCE], env: {} }),
    ]) {
      let thrown;
      try {
        await run();
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof LearnerSyncError && thrown.code === 'INVALID_OPTIONS', `${typeof clientSecret}: ${thrown?.code}`);
      for (const shown of ['98765432109', '987654', 'objectsecret', 'arraysecret']) assert.ok(!thrown.message.includes(shown), `${typeof clientSecret}: the value is not shown`);
    }
  }
  // Credentials that are not an object at all: named, not shown.
  await assert.rejects(sync({ ...base, credentials: 'stringsecret-5521' }, { sources: [SOURCE], env: {} }), (e) => e.code === 'INVALID_OPTIONS' && !e.message.includes('stringsecret'));
});

test('redactSecrets removes a secret cut at an ellipsis, URL-encoded, and in base64 of key:secret', () => {
  const credentials = { key: LEARNIFIER_KEY, secret: LEARNIFIER_SECRET };
  const basic = Buffer.from(`${LEARNIFIER_KEY}:${LEARNIFIER_SECRET}`).toString('base64');
  for (const text of [`refused ${LEARNIFIER_SECRET.slice(0, 9)}…`, `x=${encodeURIComponent(LEARNIFIER_SECRET).toLowerCase()}`, `Basic ${basic}`]) {
    const out = redactSecrets(text, credentials);
    assert.match(out, /\[redacted\]/);
    assert.equal(leak(out, LEARNIFIER_SECRETS), null);
  }
  // A number given as a credential is searched for as its text.
  assert.equal(redactSecrets('secret 98765432109 echoed', { clientSecret: 98765432109 }), 'secret [redacted] echoed');
});
