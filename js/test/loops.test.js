// Every loop ends (issue 10, item 7), end to end in Node through the hostile platform
// (js/test/hostile.js) in front of the Foundry simulator: tokens announced to live 0 or 30 s,
// a token endpoint answering 429 forever, a Retry-After of ten years or given as an HTTP-date,
// listings that never end (the same page, empty pages with `next`, full pages without links),
// and a body that never ends. Each misbehaviour is bounded by the test itself (past a ceiling
// of requests the fetch refuses, and no sleep may exceed a timer's range), so a regression
// fails rather than hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFoundry } from '../sim/foundry.js';
import { sample } from '../demo/sample.js';
import { sync, beginSync, stepSync } from '../node.js';
import { startHostile } from './hostile.js';

const FAST = { limit: 1000, windowMs: 1000 };
const RETRY = { maxAttempts: 3, maxRateLimited: 3, baseMs: 10, maxMs: 50 };
const MAX_TIMER_MS = 2 ** 31 - 1;
const DATA = sample(300, 5);

async function platform(mode) {
  const sim = await startFoundry({ users: DATA.users, rate: FAST });
  const hostile = await startHostile(sim.url, mode);
  return { sim, hostile, close: async () => (await hostile.close(), await sim.close()) };
}

const options = (url, extra = {}) => ({
  platform: 'foundry',
  baseUrl: url,
  credentials: { clientId: 'sim-client', clientSecret: 'sim-secret' },
  rate: FAST,
  retry: RETRY,
  ...extra,
});

/**
 * globalThis.fetch with ceilings: past `tokens` token requests or `lists` list requests it
 * answers as a platform that has had enough (401 to the token, 500 to the list), so a loop
 * ends the run rather than the test's patience.
 */
function boundedFetch({ tokens = 400, lists = 400 } = {}) {
  const count = { token: 0, list: 0, other: 0 };
  const fetchFn = async (url, init) => {
    const path = new URL(url).pathname;
    if (path.endsWith('/oauth/token')) {
      if (++count.token > tokens) return new Response('{"error":"enough"}', { status: 401 });
    } else if (init.method === 'GET') {
      if (++count.list > lists) return new Response('{"errors":[{"title":"enough"}]}', { status: 500 });
    } else count.other += 1;
    return fetch(url, init);
  };
  return { fetchFn, count };
}

/** A sleep that refuses what no timer can do, and sleeps at most 50 ms of real time. */
function checkedSleep(asked) {
  return (ms) => {
    asked.push(ms);
    assert.ok(ms <= MAX_TIMER_MS, `a sleep of ${ms} ms asked: no timer takes it`);
    return new Promise((r) => setTimeout(r, Math.min(ms, 50)));
  };
}

for (const ttl of [0, 30]) {
  test(`tokens announced to live ${ttl} s serve the requests that are ready: no token storm, and the run finishes`, async () => {
    const p = await platform({ tokenTtl: ttl });
    try {
      const { fetchFn, count } = boundedFetch();
      const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn });
      assert.equal(report.error, undefined, JSON.stringify(report.error));
      assert.ok(report.finished);
      const others = count.list + count.other;
      console.log(`expires_in ${ttl}: ${count.token} token requests, ${others} others`);
      // One token a page while listing (one request ready), one per burst of writes.
      assert.ok(count.token <= others, `${count.token} token requests for ${others} others`);
    } finally {
      await p.close();
    }
  });
}

test('the step API with tokens announced to live 0 s fetches one token per step, not a storm', async () => {
  const p = await platform({ tokenTtl: 0 });
  try {
    const opts = options(p.hostile.url);
    let s = beginSync(opts, { sources: [DATA.csv], now: Date.now() });
    let steps = 0;
    while (!s.done) {
      assert.ok(++steps < 2000, 'the run ends');
      assert.ok(s.requests.filter((r) => r.url.endsWith('/oauth/token')).length <= 1, 'one token request a step at most');
      const answers = [];
      for (const r of s.requests) {
        const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' });
        answers.push({ id: r.id, status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) });
      }
      if (!answers.length && s.wakeAt) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(0, s.wakeAt - Date.now()))));
      s = stepSync(s.state, answers, { now: Date.now(), baseUrl: opts.baseUrl, credentials: opts.credentials, sources: [DATA.csv] });
    }
    assert.equal(s.report.error, undefined, JSON.stringify(s.report.error));
  } finally {
    await p.close();
  }
});

test('a token endpoint answering 429 forever ends the run with RATE_LIMITED within retry.maxRateLimited', async () => {
  const p = await platform({ token429: true });
  try {
    const { fetchFn, count } = boundedFetch();
    const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn });
    assert.equal(report.error?.code, 'RATE_LIMITED', JSON.stringify(report.error));
    assert.match(report.error.message, /access token/);
    assert.equal(count.token, RETRY.maxRateLimited + 1, 'the first token request and its retries');
    assert.equal(count.list + count.other, 0);
  } finally {
    await p.close();
  }
});

test('a Retry-After of ten years suspends the run with RATE_LIMITED and a checkpoint, and no timer overflows', async () => {
  const p = await platform({ retryAfter: { value: String(10 * 365 * 86400), only: /^GET / } });
  try {
    const asked = [];
    const { fetchFn } = boundedFetch();
    const started = Date.now();
    const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn, sleep: checkedSleep(asked) });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(report.error?.code, 'RATE_LIMITED', JSON.stringify(report.error));
    assert.match(report.error.message, /retry\.maxWaitMs/);
    assert.equal(report.suspended, true);
    assert.equal(report.finished, false);
    assert.equal(typeof report.checkpoint, 'string');
    assert.equal(report.requests, 2, 'the token, the refused page: nothing more');
    // Resumed while the pause lasts: suspended again at once, nothing sent.
    const again = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn, checkpoint: report.checkpoint, sleep: checkedSleep(asked) });
    assert.equal(again.suspended, true);
    assert.equal(again.error?.code, 'RATE_LIMITED');
    assert.equal(again.requests, 2);
  } finally {
    await p.close();
  }
});

test('the step API under a Retry-After of ten years hands back the report and a wakeAt, and sends nothing before it', async () => {
  const p = await platform({ retryAfter: { value: String(10 * 365 * 86400), only: /^GET / } });
  try {
    const opts = options(p.hostile.url);
    const answer = async (requests) => {
      const out = [];
      for (const r of requests) {
        const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' });
        out.push({ id: r.id, status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) });
      }
      return out;
    };
    let s = beginSync(opts, { sources: [DATA.csv], now: Date.now() });
    for (let i = 0; i < 10 && s.requests.length; i++) {
      s = stepSync(s.state, await answer(s.requests), { now: Date.now(), baseUrl: opts.baseUrl, credentials: opts.credentials, sources: [DATA.csv] });
    }
    assert.equal(s.done, false);
    assert.deepEqual(s.requests, []);
    assert.equal(s.report?.error?.code, 'RATE_LIMITED', JSON.stringify(s.report?.error));
    assert.ok(s.wakeAt > Date.now() + 9 * 365 * 86400 * 1000, `wakeAt ${s.wakeAt}`);
    assert.equal(s.wakeAt, s.report.resumeAt);
    // Stepped again too early: the same, still nothing to send.
    const early = stepSync(s.state, [], { now: Date.now() + 60_000, baseUrl: opts.baseUrl, credentials: opts.credentials, sources: [DATA.csv] });
    assert.deepEqual(early.requests, []);
    assert.equal(early.wakeAt, s.wakeAt);
  } finally {
    await p.close();
  }
});

test('a Retry-After given as an HTTP-date is waited out until that date', async () => {
  const p = await platform({});
  try {
    // The platform refuses the first write until a date 2 s ahead, then calms down.
    const until = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
    let refusedAt;
    let nextWrite;
    const fetchFn = async (url, init) => {
      if (init.method === 'PATCH' && refusedAt === undefined) {
        refusedAt = Date.now();
        return new Response('{}', { status: 429, headers: { 'retry-after': until.toUTCString() } });
      }
      if (init.method === 'PATCH' && nextWrite === undefined && Date.now() > refusedAt + 5) nextWrite = Date.now();
      return fetch(url, init);
    };
    const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn });
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.ok(refusedAt !== undefined && nextWrite !== undefined);
    assert.ok(nextWrite >= until.getTime() - 5, `a write went ${until.getTime() - nextWrite} ms before the date`);
  } finally {
    await p.close();
  }
});

for (const mode of ['repeatPage', 'emptyPagesWithNext', 'fullPagesNoLinks']) {
  test(`a listing that never ends (${mode}) stops with PAGING_LOOP before any write`, async () => {
    const p = await platform({ [mode]: true });
    try {
      const { fetchFn, count } = boundedFetch();
      const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn });
      assert.equal(report.error?.code, 'PAGING_LOOP', JSON.stringify(report.error));
      assert.ok(count.list <= 3, `${count.list} list requests`);
      assert.equal(count.other, 0, 'nothing written');
      assert.equal(p.sim.stats().created + p.sim.stats().updated, 0);
    } finally {
      await p.close();
    }
  });
}

test('a body that never ends is read no further than the page bound, and stops the run with RESPONSE_TOO_LARGE', { timeout: 120_000 }, async () => {
  const p = await platform({ endlessBody: true });
  try {
    const { fetchFn, count } = boundedFetch();
    const before = process.memoryUsage().rss;
    const report = await sync(options(p.hostile.url), { sources: [DATA.csv], fetch: fetchFn, timeoutMs: 100_000 });
    assert.equal(report.error?.code, 'RESPONSE_TOO_LARGE', JSON.stringify(report.error));
    assert.match(report.error.message, /longer than 256 MiB/);
    assert.equal(count.list, 1, 'not retried');
    assert.equal(count.other, 0, 'nothing written');
    const grew = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`endless body: stopped; the process grew ${grew.toFixed(0)} MiB`);
    assert.ok(grew < 1024, `the process grew ${grew} MiB`);
  } finally {
    await p.close();
  }
});
