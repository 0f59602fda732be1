// Shared pieces of the platform simulators: a loopback HTTP server, a rolling request window,
// seeded faults, and counters. Each simulator follows ../../../shared/TARGET-APIS.md; where the
// real API is unknown, the simulator's pick is documented and switchable.
import { createServer } from 'node:http';

/** A seeded generator (xorshift32) so fault runs can be replayed. */
export function prng(seed = 1) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** At most `limit` accepted requests in any `windowMs` (null limit: no limit). */
export class RateWindow {
  constructor({ limit = null, windowMs = 60_000 } = {}) {
    this.set({ limit, windowMs });
    this.times = [];
  }
  set({ limit = null, windowMs = 60_000 }) {
    this.limit = limit;
    this.windowMs = windowMs;
  }
  /** Admits a request at `now`, or says how many ms until a slot frees. */
  admit(now) {
    if (!this.limit) return { ok: true };
    while (this.times.length && this.times[0] + this.windowMs <= now) this.times.shift();
    if (this.times.length >= this.limit) return { ok: false, waitMs: this.times[0] + this.windowMs - now };
    this.times.push(now);
    return { ok: true };
  }
}

/**
 * Faults, each a probability per request: `error5xx`, `rate429` (extra 429s), `slow` (`{p, ms}`),
 * `dropAfterWrite` (apply the write, then destroy the socket unanswered), `malformed` (a GET
 * answered 200 with half its body), and `burst429` (`{every, length}`: every `every` requests,
 * `length` 429s in a row).
 * `shift` (a probability per list request): another client adds or removes a user listed
 * before the page asked for, so pages shift while they are read (Foundry).
 * The bad-day faults (issue 10), each a probability too:
 * - `redirect` (`{p, to}`): answer `307` with `Location: to + path`, another origin;
 * - `hugeRetryAfter` (per 429 answered): the 429 says `Retry-After` ten years ahead, in seconds
 *   or, every other time, as an HTTP-date;
 * - `ignoreFilter` (per list request with a key filter): the filter is ignored, so a lookup by
 *   key gets the first users of the listing (Foundry);
 * - `repeatPage` (per list request past the first page): page 1 is answered again, links and
 *   all (Foundry).
 */
export class Faults {
  constructor(spec = {}, seed = 1) {
    this.random = prng(seed);
    this.set(spec);
    this.counter = 0;
    this.injected = {};
  }
  set(spec = {}) {
    this.spec = {
      error5xx: 0, rate429: 0, slow: null, dropAfterWrite: 0, malformed: 0, burst429: null,
      redirect: null, hugeRetryAfter: 0, ignoreFilter: 0, repeatPage: 0, ...spec,
    };
  }
  hit(kind) {
    const p = this.spec[kind];
    const yes = typeof p === 'number' && p > 0 && this.random() < p;
    if (yes) this.count(kind);
    return yes;
  }
  count(kind) {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }
  burst() {
    const b = this.spec.burst429;
    this.counter += 1;
    const yes = Boolean(b && b.every > 0 && this.counter % b.every < b.length);
    if (yes) this.count('burst429');
    return yes;
  }
}

/** Reads a request body as text. */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function send(res, status, body, headers = {}) {
  const text = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Starts a simulator: `handle(ctx)` answers `{status, body, headers, write}` for a parsed
 * request `{method, path, query, headers, body, now}`. Common behaviour (rate window, faults,
 * counters, /__sim/ routes) lives here.
 */
export async function serve({ port = 0, now = () => Date.now(), rate, faults, seed = 1, limitAuth = true }, handle, snapshot) {
  const window = new RateWindow(rate ?? {});
  const f = new Faults(faults, seed);
  const stats = { requests: 0, byRoute: {}, status: {}, rateLimited: 0, created: 0, updated: 0, deleted: 0 };
  // Every answer as the simulator gave it: when the request arrived (its clock), the route
  // and the status. What a test checks the rolling window against, not the client's word.
  const log = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://sim');
    if (url.pathname === '/__sim/state') return send(res, 200, snapshot());
    if (url.pathname === '/__sim/stats') return send(res, 200, { ...stats, faultsInjected: { ...f.injected } });
    const body = await readBody(req);
    const t = now();
    stats.requests += 1;
    const route = `${req.method} ${url.pathname.replace(/\/[^/]*\d[^/]*$/, '/:id')}`;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    const limited = limitAuth || !url.pathname.includes('oauth');
    const answer = (status, payload, headers) => {
      stats.status[status] = (stats.status[status] ?? 0) + 1;
      log.push({ at: t, route, status, counted: limited });
      send(res, status, payload, headers);
    };
    const redirect = f.spec.redirect;
    if (redirect && f.random() < redirect.p) {
      f.count('redirect');
      return answer(307, '', { location: `${redirect.to}${req.url}` });
    }
    const admitted = limited ? window.admit(t) : { ok: true };
    if (!admitted.ok || f.burst() || f.hit('rate429')) {
      stats.rateLimited += 1;
      const headers = rate?.retryAfter && admitted.waitMs ? { 'retry-after': String(Math.ceil(admitted.waitMs / 1000)) } : {};
      if (f.hit('hugeRetryAfter')) {
        const tenYears = 10 * 365 * 86_400;
        headers['retry-after'] = f.injected.hugeRetryAfter % 2 ? String(tenYears) : new Date(t + tenYears * 1000).toUTCString();
      }
      return answer(429, { errors: [{ title: 'Too Many Requests' }], code: 'rate_limited', message: 'Too Many Requests' }, headers);
    }
    if (f.hit('error5xx')) return answer(503, 'Service Unavailable', { 'content-type': 'text/plain' });
    if (f.spec.slow && f.random() < f.spec.slow.p) {
      f.count('slow');
      await new Promise((r) => setTimeout(r, f.spec.slow.ms));
    }
    const query = Object.fromEntries(url.searchParams);
    let out;
    try {
      out = handle({ method: req.method, path: url.pathname, query, headers: req.headers, body, now: t, stats, faults: f });
    } catch (e) {
      return answer(500, { errors: [{ title: `simulator error: ${e.message}` }] });
    }
    if (out.write && out.status < 300 && f.hit('dropAfterWrite')) {
      // The write took effect; the answer is lost.
      return res.socket.destroy();
    }
    if (req.method === 'GET' && out.status === 200 && f.hit('malformed')) {
      const text = JSON.stringify(out.body);
      return answer(200, text.slice(0, Math.floor(text.length / 2)), out.headers);
    }
    answer(out.status, out.body, out.headers);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    stats: () => ({ ...stats, faultsInjected: { ...f.injected } }),
    /** The answers so far, `{at, route, status, counted}` in order of arrival. */
    log: () => log.slice(),
    setFaults: (spec) => f.set(spec),
    setRate: (r) => window.set(r),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
