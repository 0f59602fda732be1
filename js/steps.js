// @ts-check
// The stateless call style, for hosted low-code platforms (Workato, Tray, n8n) that run one
// step at a time and send HTTP with their own step: `beginSync` returns the first requests and
// a state (JSON text); each `stepSync` takes the state back with the answers to those requests
// and returns the next requests and the new state, until `done` (with the report).
//
// The state is a checkpoint of the engine: it carries no credential and no access token. It
// passes through the host's storage, so it is not trusted with where the platform is or how
// to sign: every step is given `baseUrl` (and `hostAuth` or credentials) again, and a state
// made for another base URL is refused (CHECKPOINT_MISMATCH). On Foundry each step would then
// fetch a token; with `host.tokenCache` the host keeps the token outside the state instead,
// and the call returns a Promise (see token-cache.js).
import { RawSync } from '../pkg/learner_sync.js';
import { checkBaseUrl } from './base-url.js';
import { LearnerSyncError, argObject, jsonText, rethrow, toBytes } from './errors.js';
import { redactError } from './redact.js';
import { addSources, allCredentialsFromEnv, checkCredentials, hostOptionsText, planText, settings } from './sync.js';
import { cachedToken, keepToken, tokenCacheOf } from './token-cache.js';

const decoder = new TextDecoder();

function plainRequest(req) {
  const headers = {};
  for (const [name, value] of req.headers) headers[name] = value;
  // The host's HTTP step must not follow redirects: hand the 3xx answer back as it came.
  const out = { id: req.id, method: req.method, url: req.url, headers, redirect: 'manual' };
  if (req.body) out.body = decoder.decode(req.body);
  return out;
}

function headerPairs(headers) {
  if (!headers) return [];
  if (Array.isArray(headers)) {
    return headers.map((pair) => {
      if (!Array.isArray(pair)) throw new LearnerSyncError('INVALID_INPUT', 'answer headers given as a list must be [name, value] pairs');
      return [String(pair[0]), String(pair[1])];
    });
  }
  const out = [];
  if (typeof headers.forEach === 'function') headers.forEach((v, k) => out.push([String(k), String(v)]));
  else for (const [k, v] of Object.entries(headers)) out.push([k, String(v)]);
  return out;
}

/**
 * Runs the engine as far as it goes now and frees it; returns the step's result and, with
 * `cache`, the token the engine fetched (for the cache, never in the result).
 */
function advance(raw, now, credentials, cache, token) {
  try {
    raw.start(now);
    const requests = [];
    for (let req = raw.pollTransmit(now); req; req = raw.pollTransmit(now)) requests.push(plainRequest(req));
    const events = [];
    for (let e = raw.pollEvent(); e; e = raw.pollEvent()) events.push(e);
    // pollTransmit settled where the invocation stands; pollTimeout only looks.
    const done = raw.isFinished();
    const suspended = !done && raw.isSuspended();
    const result = { state: raw.checkpointJson(), requests, done, events };
    if (done) result.report = JSON.parse(raw.reportJson(now));
    else if (suspended) {
      // A pause longer than retry.maxWaitMs: nothing to send until it ends (the report says
      // RATE_LIMITED); step again at `wakeAt`, not before.
      result.report = JSON.parse(raw.reportJson(now));
      if (result.report.resumeAt !== undefined) result.wakeAt = result.report.resumeAt;
    } else if (requests.length === 0) {
      const wake = raw.pollTimeout(now);
      if (wake !== undefined) result.wakeAt = wake;
    }
    return { result, fresh: cache ? raw.takeNewToken() : undefined };
  } catch (e) {
    rethrow(redactError(e, credentials, token ? [token.value] : []));
  } finally {
    raw.free();
  }
}

function hostCredentials(credentials, env) {
  checkCredentials(credentials);
  // The state does not say which platform's variables to read: take every platform's.
  return { ...allCredentialsFromEnv(env), ...(credentials ?? {}) };
}

/** Hands the engine the cached token, if any (it checks it as any token). */
function useToken(raw, token, now) {
  if (token) raw.useToken(token.value, token.expiresAt, now);
}

/**
 * With a token cache: reads the token it holds, runs the step with it, keeps the token the
 * step fetched. Without: runs the step at once. `run(token)` returns `{result, fresh}`.
 */
function withCache(cache, credentials, run) {
  if (!cache) return run(undefined).result;
  return (async () => {
    const token = await cachedToken(cache, credentials);
    const { result, fresh } = run(token);
    if (fresh) await keepToken(cache, fresh, credentials);
    return result;
  })();
}

/**
 * Starts a run. `options` as for `sync` (platform, baseUrl, match…; `hostAuth: true` when the
 * platform's HTTP step signs requests itself). `host.plan` (a plan from `plan()`, object or JSON)
 * is applied as it stands, without listing the platform; otherwise `host.sources` are the
 * system of record's pages and the run lists the platform (full) or not (delta).
 * With `host.tokenCache`, returns a Promise (see `stepSync`).
 */
export function beginSync(options, host) {
  const { sources = [], plan, approve, now = Date.now(), env, tokenCache } = argObject(host, 'the host settings');
  const cache = tokenCacheOf(tokenCache);
  const { plan: planOptions, config } = settings(options, env, plan?.options?.platform);
  return withCache(cache, config.credentials, (token) => {
    let raw;
    try {
      if (plan) {
        raw = RawSync.fromPlan(planText(plan), jsonText(config, 'the options'), hostOptionsText(planOptions, plan, approve));
      } else {
        raw = new RawSync(jsonText(planOptions, 'the options'), jsonText(config, 'the options'));
        addSources(raw, sources);
      }
      useToken(raw, token, now);
    } catch (e) {
      raw?.free();
      rethrow(redactError(e, config.credentials, token ? [token.value] : []));
    }
    return advance(raw, now, config.credentials, cache, token);
  });
}

/**
 * One step: `state` from the previous step, and the answers to its requests, each
 * `{id, status, headers, body}` (headers an object or [name, value] pairs; body text, bytes or
 * parsed JSON) or `{id, error: 'timeout' | 'network', message}` when none came. A 3xx answer
 * (requests say `redirect: 'manual'`: never follow them) stops the run with REDIRECTED; an
 * HTTP step that can only say a redirect happened answers `{id, error: 'redirect'}`. A request with
 * no answer is taken as lost: a create among them is looked up before it is sent again.
 * While a full sync lists the platform, pass the source pages (`sources`) at every step: the
 * state keeps the users read so far, not the source, which is read when the run plans.
 * The host settings name where the platform is and how to sign, at every step, as `beginSync`
 * was given them: `baseUrl` (required; a state made for another is CHECKPOINT_MISMATCH), and
 * `hostAuth: true` or `credentials` (or the environment's). The state is never trusted with them.
 * Or pass `options`, the very options given to `beginSync`: they supply those, and the state's
 * plan options must equal theirs (a state edited to another orphan policy or guard is
 * CHECKPOINT_MISMATCH).
 * An answer must name a request in flight and carry a status in 100-599 (INVALID_INPUT).
 * Returns `{state, requests, done, events, wakeAt?, report?}`: send `requests`, then step again
 * with their answers; with no requests and a `wakeAt` (epoch ms), step again at that time.
 * With `host.tokenCache` (`{get(), set({value, expiresAt})}`, either may return a Promise),
 * the token is kept there rather than fetched at every step, and the result is a Promise; an
 * error of the cache rejects it (nothing is lost: step again with the same state and answers).
 */
export function stepSync(state, answers = [], host) {
  host = argObject(host, 'the host settings');
  const { now = Date.now(), env, sources = [], options } = host;
  if (typeof state !== 'string' && !(state instanceof Uint8Array)) {
    throw new LearnerSyncError('INVALID_INPUT', 'state must be the state text the previous step returned');
  }
  if (!Array.isArray(answers)) throw new LearnerSyncError('INVALID_INPUT', 'answers must be an array of {id, status, headers, body} or {id, error}');
  const cache = tokenCacheOf(host.tokenCache);
  // The options `beginSync` was given, when the step has them: the state's plan options must
  // equal them, and they say where the platform is and how to sign.
  const given = options === undefined ? undefined : settings(options, env);
  const baseUrl = host.baseUrl ?? given?.config.baseUrl;
  const hostAuth = host.hostAuth ?? given?.config.hostAuth ?? false;
  const credentials = host.credentials ?? given?.config.credentials;
  const planOptions = given?.plan.platform ? jsonText(given.plan, 'the options') : '';
  if (baseUrl === undefined) {
    throw new LearnerSyncError('INVALID_OPTIONS', 'stepSync needs host.baseUrl at every step: where the platform is (and where credentials go) is never taken from the state');
  }
  checkBaseUrl(baseUrl);
  if (typeof hostAuth !== 'boolean') throw new LearnerSyncError('INVALID_OPTIONS', 'hostAuth must be true or false');
  const signing = hostAuth ? {} : hostCredentials(credentials, env);
  return withCache(cache, signing, (token) => {
    let raw;
    try {
      raw = RawSync.resume(toBytes(state, 'the state'), jsonText({ baseUrl, hostAuth, credentials: signing }, 'the host settings'), planOptions);
      raw.checkClock(now);
      // Before the answers: a 401 to a request the previous step sent drops the cached token.
      useToken(raw, token, now);
      // A full sync still listing the platform keeps the users read, not the source: it is
      // read again at each step (before the answers: the last page's answer makes the plan).
      if (raw.needsSource()) addSources(raw, sources);
      for (const a of answers) {
        if (!a || typeof a.id !== 'number') throw new LearnerSyncError('INVALID_INPUT', 'each answer needs the id of the request it answers');
        if (a.error) {
          const kind = ['timeout', 'redirect'].includes(a.error) ? a.error : 'network';
          raw.handleFailure(a.id, now, kind, String(a.message ?? a.error));
        } else {
          if (!Number.isInteger(a.status) || a.status < 100 || a.status > 599) {
            throw new LearnerSyncError('INVALID_INPUT', `the answer to request ${a.id} has no HTTP status (an integer in 100-599)`);
          }
          const body = a.body === undefined || a.body === null ? new Uint8Array() : toBytes(a.body, `the body of the answer to request ${a.id}`);
          raw.handleResponse(a.id, now, a.status, headerPairs(a.headers), body);
        }
      }
      raw.abandonInFlight(now);
    } catch (e) {
      raw?.free();
      rethrow(redactError(e, signing, token ? [token.value] : []));
    }
    return advance(raw, now, signing, cache, token);
  });
}
