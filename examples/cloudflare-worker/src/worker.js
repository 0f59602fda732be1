// learner-sync as a Cloudflare Worker on a cron trigger: a daily full sync that fits the
// Worker's per-invocation limits by stopping at a budget and carrying on at the next tick.
//
// Each tick (wrangler.toml: every 15 minutes):
//   - a checkpoint in KV: the run under way carries on from it;
//   - none, and the last run started RUN_EVERY_HOURS ago or more: a new run starts;
//   - otherwise: nothing to do.
// The run reads the system of record from SOURCE_URL (a CSV or JSON export), lists the platform,
// plans and applies, with at most REQUEST_BUDGET requests and TIME_BUDGET_MS per tick. Before
// each batch of writes it saves a checkpoint, so a tick killed half-way (CPU limit, deploy,
// eviction) is resumed from the last one without creating anyone twice. The access token is
// kept in KV under its own key (`token`, with its expiry), never in the checkpoint: a tick
// reuses it while it lasts instead of fetching one per tick.
//
// A template to copy: this folder (package.json, wrangler.toml, src/) is a Worker project as it
// stands. `npm install`, fill in wrangler.toml, then `npx wrangler deploy`: wrangler's bundler
// picks the package's workerd entry and loads its .wasm as a compiled module, with no config.
import { sync, LearnerSyncError, credentialsFromEnv, redactSecrets } from 'learner-sync';

const CHECKPOINT = 'checkpoint';
const LAST_RUN = 'last-run';
const TOKEN = 'token';

/** The access token and its expiry in KV, beside the checkpoint and never inside it. */
function tokenCache(kv) {
  return {
    async get() {
      try {
        return JSON.parse((await kv.get(TOKEN)) ?? 'null') ?? undefined;
      } catch {
        return undefined; // an unreadable entry: a token is fetched and the entry replaced
      }
    },
    set(token) {
      // KV forgets it at its expiry (KV takes expirations at least 60 s ahead).
      const expiration = Math.floor(token.expiresAt / 1000);
      const ttl = expiration - Math.floor(Date.now() / 1000) >= 60 ? { expiration } : {};
      return kv.put(TOKEN, JSON.stringify(token), ttl);
    },
  };
}

function settings(env) {
  let options;
  try {
    options = JSON.parse(env.LEARNER_SYNC_OPTIONS ?? '');
  } catch {
    // Not the parser's message: V8 quotes the text around the fault, which may hold a credential.
    throw new LearnerSyncError('INVALID_OPTIONS', 'LEARNER_SYNC_OPTIONS is not JSON (its text is not shown)');
  }
  const number = (name, fallback) => {
    const v = env[name] === undefined ? fallback : Number(env[name]);
    if (!Number.isFinite(v) || v <= 0) throw new LearnerSyncError('INVALID_OPTIONS', `${name} must be a positive number`);
    return v;
  };
  return {
    options: { ...options, budget: { requests: number('REQUEST_BUDGET', 40), ms: number('TIME_BUDGET_MS', 20_000) } },
    everyMs: number('RUN_EVERY_HOURS', 24) * 3_600_000,
  };
}

async function readSource(env) {
  if (!env.SOURCE_URL) throw new LearnerSyncError('INVALID_OPTIONS', 'SOURCE_URL is not set');
  const headers = env.SOURCE_TOKEN ? { authorization: `Bearer ${env.SOURCE_TOKEN}` } : {};
  // Not followed: a redirect would carry SOURCE_TOKEN wherever it points.
  const res = await fetch(env.SOURCE_URL, { headers, redirect: 'manual' });
  if (res.status >= 300 && res.status < 400) throw new Error(`the system of record answered HTTP ${res.status}, a redirect (not followed): check SOURCE_URL`);
  if (!res.ok) throw new Error(`the system of record answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A log line with every credential of the Worker's secrets removed, in any encoding. */
function safe(env, text) {
  const credentials = { ...credentialsFromEnv('foundry', env), ...credentialsFromEnv('learnifier', env), ...credentialsFromEnv('scim', env) };
  return redactSecrets(text, credentials, env.SOURCE_TOKEN ? [env.SOURCE_TOKEN] : []);
}

/** The figures of a report, without the per-action outcomes, for the log and for GET. */
function summary(report, startedAt) {
  const { finished, suspended, error, held, withheld, counts, plan, requests, retries, rateLimited, invocations, created } = report;
  return { startedAt, finished, suspended, error, held, withheld, counts, plan, requests, retries, rateLimited, invocations, created: created.length };
}

/** One cron tick. Returns what it did, for tests and logs. */
export async function tick(env, now = Date.now()) {
  const kv = env.LEARNER_SYNC_STATE;
  const { options, everyMs } = settings(env);
  let checkpoint = await kv.get(CHECKPOINT);
  const last = JSON.parse((await kv.get(LAST_RUN)) ?? 'null');
  // A run that ended (done, held by a guard, or refused credentials: retrying those every tick
  // could get them disabled) waits for its day; one the platform cut short is retried.
  const retry = ['PLATFORM_UNAVAILABLE', 'LISTING_FAILED', 'RATE_LIMITED'].includes(last?.error?.code);
  if (!checkpoint && last?.finished && !retry && now - last.startedAt < everyMs) return { action: 'idle' };
  const startedAt = checkpoint ? last?.startedAt ?? now : now;
  const host = {
    sources: [{ page: await readSource(env), label: 'source' }],
    checkpoint: checkpoint ?? undefined,
    saveCheckpoint: (text) => kv.put(CHECKPOINT, text),
    tokenCache: tokenCache(kv),
    env,
  };
  let report;
  try {
    report = await sync(options, host);
  } catch (e) {
    if (checkpoint && (e.code === 'CHECKPOINT_MISMATCH' || e.code === 'INVALID_CHECKPOINT') && options.mode !== 'delta') {
      // The options changed, or learner-sync was upgraded, while a run was under way. A full
      // sync lists the platform afresh, so starting over is safe; the old checkpoint is kept
      // aside for whoever wants to look.
      console.warn(safe(env, `learner-sync: starting a new run: ${e.message} [${e.code}]`));
      await kv.put(`${CHECKPOINT}-rejected`, checkpoint);
      await kv.delete(CHECKPOINT);
      checkpoint = null;
      report = await sync(options, { ...host, checkpoint: undefined });
    } else {
      throw e;
    }
  }
  const state = summary(report, checkpoint ? startedAt : now);
  await kv.put(LAST_RUN, JSON.stringify(state));
  if (!report.suspended) await kv.delete(CHECKPOINT);
  const c = report.counts;
  console.log(safe(env,
    `learner-sync: ${report.suspended ? 'suspended' : report.finished ? 'finished' : 'stopped'} after ${report.invocations} tick(s): ` +
      `${c.done} done, ${c.failed} failed, ${c.skipped} skipped; ${report.requests} requests` +
      (report.error ? `; ${report.error.code}: ${report.error.message}` : '') +
      (report.held ? `; plan held: ${report.held.reason} (approve ${report.held.fingerprint})` : ''),
  ));
  return { action: report.suspended ? 'suspended' : 'finished', report: state };
}

export default {
  async scheduled(controller, env) {
    await tick(env, controller.scheduledTime);
  },
  /** GET: the last run's figures (no learner data, no credentials). */
  async fetch(request, env) {
    if (request.method !== 'GET') return new Response('method not allowed', { status: 405 });
    const last = await env.LEARNER_SYNC_STATE.get(LAST_RUN);
    const running = (await env.LEARNER_SYNC_STATE.get(CHECKPOINT)) !== null;
    return Response.json({ running, last: last ? JSON.parse(last) : null });
  },
};
