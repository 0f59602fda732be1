// Plain http only on the real loopback interface, and no base URL a parser could read two ways
// (issue 10, item 3): refused by the JS API before anything reaches wasm, and by the engine
// for what reaches it another way (a step state, a checkpoint), with nothing sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sync, beginSync, stepSync, LearnerSyncError } from '../node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CSV = 'ssoId,email,firstName,lastName\n1,ann@x.org,Ann,Lee\n';
const SECRET = 'client-secret-9Qz';
const CREDENTIALS = { clientId: 'client-id-1', clientSecret: SECRET };

const REFUSED = {
  'a host that starts with 127. and goes elsewhere': 'http://127.0.0.1.evil.example',
  'a name that starts with 127.': 'http://127.attacker.example',
  'ideographic full stops': 'http://127\u30020\u30020\u30021',
  'a tab': 'http://127.0.0.1\t.evil.example',
  'a line break': 'http://127.0.0.1\n.evil.example',
  'a fragment': 'https://h#frag',
  'a query': 'https://h?x=1',
  'user information': 'https://user:pw-77@api.example',
  'an octal loopback': 'http://0177.0.0.1',
  'a short loopback': 'http://127.1',
  'a trailing dot': 'http://127.0.0.1.',
  'a percent-encoded host': 'http://%31%32%37.0.0.1',
  'a backslash': 'http://127.0.0.1\\@evil.example',
  'a dot-dot segment': 'https://api.example/v2/../admin',
  'a bidi override': 'https://api.example/\u202ev2',
};

/** A fetch that records its calls and answers nothing useful. */
function spy() {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response('{}', { status: 500 });
  };
  return { calls, fetch };
}

function assertRefused(e, url) {
  assert.ok(e instanceof LearnerSyncError, `${JSON.stringify(url)}: ${e}`);
  assert.equal(e.code, 'INVALID_OPTIONS', e.message);
  assert.match(e.message, /baseUrl/);
  assert.ok(!e.message.includes(SECRET) && !e.message.includes('pw-77'), e.message);
  assert.ok(!/[^\x20-\x7e]/.test(e.message), `the message echoes no raw character: ${JSON.stringify(e.message)}`);
}

test('sync refuses every base URL that is not https or real loopback, calling fetch zero times, and accepts the rest', async () => {
  for (const [what, baseUrl] of Object.entries(REFUSED)) {
    const { calls, fetch } = spy();
    await assert.rejects(
      sync({ platform: 'foundry', baseUrl, credentials: CREDENTIALS }, { sources: [CSV], fetch }),
      (e) => (assertRefused(e, baseUrl), true),
      what,
    );
    assert.equal(calls.length, 0, `${what}: nothing is sent`);
  }
  // Plain http on 127.0.0.0/8, localhost and [::1], and https anywhere, do reach fetch.
  for (const baseUrl of ['http://127.0.0.1:9', 'http://127.8.9.10:9/v2', 'http://localhost:9', 'http://[::1]:9', 'https://api.example', 'https://api.example/scim/v2/']) {
    const { calls, fetch } = spy();
    const report = await sync({ platform: 'foundry', baseUrl, credentials: CREDENTIALS, retry: { maxAttempts: 1 } }, { sources: [CSV], fetch });
    assert.ok(calls.length > 0, baseUrl);
    assert.ok(calls[0].url.startsWith(baseUrl.replace(/\/$/, '')), calls[0].url);
    assert.equal(report.error?.code, 'PLATFORM_UNAVAILABLE', baseUrl);
  }
});

test('beginSync refuses the same base URLs before returning any request', () => {
  for (const [what, baseUrl] of Object.entries(REFUSED)) {
    assert.throws(() => beginSync({ platform: 'foundry', baseUrl, hostAuth: true }, { sources: [CSV] }), (e) => (assertRefused(e, baseUrl), true), what);
  }
});

test('a step state whose baseUrl was changed to a look-alike host is refused by the engine, with no request', () => {
  const begun = beginSync({ platform: 'foundry', baseUrl: 'http://127.0.0.1:9', credentials: CREDENTIALS }, { sources: [CSV], now: 0 });
  for (const baseUrl of ['http://127.0.0.1.evil.example', 'http://127\u30020\u30020\u30021', 'https://h#frag', 'https://h?x=1', 'http://127.0.0.1\t.evil.example']) {
    const state = JSON.parse(begun.state);
    state.config.baseUrl = baseUrl;
    let result;
    assert.throws(
      () => (result = stepSync(JSON.stringify(state), [], { baseUrl: 'http://127.0.0.1:9', credentials: CREDENTIALS, now: 1 })),
      (e) => e instanceof LearnerSyncError && ['INVALID_OPTIONS', 'CHECKPOINT_MISMATCH'].includes(e.code) && !e.message.includes(SECRET),
      JSON.stringify(baseUrl),
    );
    assert.equal(result, undefined);
  }
});

test('the CLI refuses a look-alike loopback base URL with exit 2 and sends nothing', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'js/cli/learner-sync.js'), 'sync', '--platform', 'foundry', '--base-url', 'http://127.0.0.1.evil.example',
    '--source', join(ROOT, 'examples/walkthrough/source.csv')], { encoding: 'utf8', env: { ...process.env, FOUNDRY_CLIENT_ID: 'id', FOUNDRY_CLIENT_SECRET: SECRET } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /baseUrl "http:\/\/127\.0\.0\.1\.evil\.example": must be https .*loopback.*\[INVALID_OPTIONS\]/);
  assert.ok(!r.stderr.includes(SECRET));
});
