// @ts-check
// The organisation's request budget shared by several syncs: a ledger of the requests each
// sync was granted, kept wherever the syncs can all reach it (the CLI's state file, the Worker's
// Durable Object) and consulted through the `sharedBudget` hook of sync() (js/sync.js).
//
//   sync A ── acquire({want, answered, rateLimited}) ──▶ decide(ledger, 'A', ask, now, rate) ──▶ {granted, retryAfterMs}
//   sync B ── acquire(...) ─────────────────────────────▶ decide(ledger, 'B', ...)
//   each   ── release({unused, answered, ...}) ─────────▶ leave(ledger, who, ...)
//
// Three rules, each for one promise:
// - **Never past the budget together.** A grant is an entry that counts from the moment it is
//   given until a window after its answer was reported (until `IN_FLIGHT_HOLD_MS` plus a window
//   while unanswered), as the engine's own bucket counts: the entries of every sync together
//   stay within the limit in force, so the platform never sees more than its budget in any
//   window, whatever the latency.
// - **A fair share each.** Of the limit, each sync that is asking (it asked within the last
//   second, or it was refused and waits) is kept room for its share (limit ÷ syncs) less what it
//   holds; a sync may take what no hungry sync needs, so one alone uses the whole budget.
// - **A 429 any sync meets slows them all.** The first 429 reported after a pause is one
//   event: the limit for everyone drops to 95% of the smaller of half of it and what the syncs
//   held, and nobody is granted anything until the pause (its Retry-After, else a second) is
//   over; the limit holds two windows (at least a minute), then climbs back a fiftieth of the
//   configured limit a second. Each sync's own bucket also adapts to its own 429s.
//
// The ledger is plain JSON with no credential and no URL in it (participants are random ids).
// One read from storage is hostile: `readLedger` refuses a newer format (never overwritten),
// and treats anything malformed as lost, waiting out one window before granting anew.

/** The ledger's format; a newer one is refused, never overwritten. */
export const BUDGET_FORMAT = 1;

/** How long a granted request counts while its answer is not reported (the request's own timeout). */
export const IN_FLIGHT_HOLD_MS = 30_000;

/** A sync that asked within this is hungry: room for its share is kept for it. */
const HUNGRY_MS = 1000;

/** The pause after a 429 that said no Retry-After. */
const PAUSE_MS = 1000;

/** The longest pause taken from a Retry-After (longer ones suspend the sync that met them). */
const MAX_PAUSE_MS = 15 * 60_000;

const MIN_HOLD_MS = 60_000;
const DAY_MS = 86_400_000;
const MAX_ENTRIES = 100_000;
const MAX_PARTICIPANTS = 64;

/** A ledger's format is newer than this code reads: refuse it rather than overwrite it. */
export class NewerBudgetFormat extends Error {
  constructor(format) {
    super(`it was written by a newer learner-sync (format ${format}; this one reads ${BUDGET_FORMAT}): upgrade learner-sync, or keep the two apart`);
    this.format = format;
  }
}

/** An empty ledger. */
export function newLedger() {
  return { learnerSyncBudget: BUDGET_FORMAT, entries: [], participants: {}, cut: null, holdUntil: 0, pausedUntil: 0, quietUntil: 0 };
}

const isTime = (v) => Number.isFinite(v) && v >= 0;
const isId = (v) => typeof v === 'string' && /^[0-9a-zA-Z_-]{1,64}$/.test(v);

/** Why `l` is not a ledger of this format (null when it is one). Throws NewerBudgetFormat for a newer format. */
function problem(l) {
  if (!l || typeof l !== 'object' || Array.isArray(l)) return 'not a JSON object';
  const format = l.learnerSyncBudget;
  if (Number.isInteger(format) && format > BUDGET_FORMAT) throw new NewerBudgetFormat(format);
  if (format !== BUDGET_FORMAT) return 'no learnerSyncBudget format';
  if (!Array.isArray(l.entries) || l.entries.length > MAX_ENTRIES) return 'entries is not a list of at most 100000';
  for (const e of l.entries) {
    if (!Array.isArray(e) || e.length !== 3 || !isId(e[0]) || !isTime(e[1]) || (e[2] !== 0 && e[2] !== 1)) return 'an entry is not [participant, until, open]';
  }
  const ps = l.participants;
  if (!ps || typeof ps !== 'object' || Array.isArray(ps) || Object.keys(ps).length > MAX_PARTICIPANTS) return 'participants is not an object of at most 64';
  for (const [id, p] of Object.entries(ps)) {
    if (!isId(id) || !p || typeof p !== 'object' || !isTime(p.seen) || typeof p.waiting !== 'boolean') return 'a participant is not {seen, waiting, limit, windowMs}';
    if (!Number.isInteger(p.limit) || p.limit < 1 || p.limit > 1e6 || !Number.isInteger(p.windowMs) || p.windowMs < 1 || p.windowMs > DAY_MS) return 'a participant is not {seen, waiting, limit, windowMs}';
  }
  if (l.cut !== null && !(Number.isFinite(l.cut) && l.cut > 0)) return 'cut is not null or a positive number';
  if (![l.holdUntil, l.pausedUntil, l.quietUntil].every(isTime)) return 'holdUntil, pausedUntil or quietUntil is not a time';
  return null;
}

/**
 * The ledger in `text` (as stored), read at `now` for a sync paced at `rate` ({limit,
 * windowMs}): `{ledger, lost}`, where `lost` says why the stored text could not be used (then
 * the ledger is a fresh one that grants nothing for a window and a second: the grants it held
 * are unknown, and may still count at the platform). Empty or absent text is a fresh ledger.
 * Times past what the clock allows (a clock that went back, a file from the future) are
 * brought back within it. Throws NewerBudgetFormat for a newer format.
 */
export function readLedger(text, now, rate) {
  if (text === undefined || text === null || text === '') return { ledger: newLedger(), lost: null };
  let parsed;
  let why;
  try {
    parsed = typeof text === 'string' ? JSON.parse(text) : text;
    why = problem(parsed);
  } catch (e) {
    if (e instanceof NewerBudgetFormat) throw e;
    why = 'not JSON (cut short, or overwritten)';
  }
  if (why) return lostLedger(now, rate, why);
  clampToClock(parsed, now, rate.windowMs);
  return { ledger: parsed, lost: null };
}

/**
 * A fresh ledger in place of one that could not be used (`why`): it grants nothing for a window
 * and a second, since what the lost one granted is unknown and may still count at the platform.
 */
export function lostLedger(now, rate, why) {
  const ledger = newLedger();
  ledger.quietUntil = now + rate.windowMs + 1000;
  return { ledger, lost: why };
}

/** Brings every time the ledger holds within what `now` allows (the clock went back, or a file came from the future). */
function clampToClock(l, now, windowMs) {
  const widest = Math.max(windowMs, ...Object.values(l.participants).map((p) => p.windowMs));
  const latest = now + IN_FLIGHT_HOLD_MS + widest + 1;
  for (const e of l.entries) e[1] = Math.min(e[1], latest);
  for (const p of Object.values(l.participants)) p.seen = Math.min(p.seen, now);
  l.pausedUntil = Math.min(l.pausedUntil, now + MAX_PAUSE_MS);
  l.holdUntil = Math.min(l.holdUntil, now + DAY_MS);
  l.quietUntil = Math.min(l.quietUntil, now + widest + 1000);
}

/** Drops what no longer counts at `now`: answered entries a window old, syncs gone for two windows. */
function prune(l, now) {
  l.entries = l.entries.filter((e) => e[1] > now);
  for (const [id, p] of Object.entries(l.participants)) {
    if (p.seen < now - 2 * p.windowMs - HUNGRY_MS) delete l.participants[id];
  }
}

/** The configured budget of the syncs present: the smallest limit, over the longest window. */
function configured(l) {
  const ps = Object.values(l.participants);
  return { limit: Math.min(...ps.map((p) => p.limit)), windowMs: Math.max(...ps.map((p) => p.windowMs)) };
}

/** The limit in force at `now`: the configured one, or what the last 429 left, climbing back after its hold. */
function limitInForce(l, now, limit) {
  if (l.cut === null) return limit;
  if (now < l.holdUntil) return Math.min(l.cut, limit);
  const climbed = l.cut + ((now - l.holdUntil) / 1000) * (limit / 50);
  if (climbed >= limit) {
    l.cut = null;
    return limit;
  }
  return climbed;
}

/** What a sync reports of its answers: entries close (count a window from now), 429s slow everyone. */
function noteAnswers(l, who, { answered = 0, rateLimited = 0, retryAfterMs }, now, windowMs, limit) {
  let left = answered;
  for (const e of l.entries) {
    if (left <= 0) break;
    if (e[0] === who && e[2] === 1) {
      e[1] = now + windowMs + 1;
      e[2] = 0;
      left -= 1;
    }
  }
  if (rateLimited > 0) {
    const pause = Math.min(Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : PAUSE_MS, MAX_PAUSE_MS);
    if (now >= l.pausedUntil) {
      // A new congestion event: the limit drops once for everyone.
      const held = l.entries.length;
      const before = limitInForce(l, now, limit);
      l.cut = Math.max(limit / 10, 0.95 * Math.min(before / 2, held));
      l.holdUntil = now + Math.max(2 * windowMs, MIN_HOLD_MS);
    }
    l.pausedUntil = Math.max(l.pausedUntil, now + pause);
  }
}

/**
 * Asks the ledger, at `now`, for up to `ask.want` requests for sync `who` paced at `rate`
 * ({limit, windowMs}), reporting its answers since it last asked (`ask.answered`,
 * `ask.rateLimited`, `ask.retryAfterMs`). Changes the ledger; returns `{granted, retryAfterMs}`
 * (`retryAfterMs` when nothing was granted: when to ask again).
 */
export function decide(l, who, ask, now, rate) {
  prune(l, now);
  const me = (l.participants[who] ??= { seen: now, waiting: false, limit: rate.limit, windowMs: rate.windowMs });
  Object.assign(me, { seen: now, limit: rate.limit, windowMs: rate.windowMs });
  if (Object.keys(l.participants).length > MAX_PARTICIPANTS) {
    // More syncs than a ledger holds: the longest silent makes room (its entries still count).
    const [oldest] = Object.entries(l.participants).sort((a, b) => a[1].seen - b[1].seen)[0];
    delete l.participants[oldest];
  }
  const { limit, windowMs } = configured(l);
  noteAnswers(l, who, ask, now, windowMs, limit);
  const refuse = (untilMs) => {
    me.waiting = true;
    return { granted: 0, retryAfterMs: Math.max(5, Math.ceil(untilMs)) };
  };
  if (now < l.quietUntil) return refuse(l.quietUntil - now);
  if (now < l.pausedUntil) return refuse(l.pausedUntil - now);
  const inForce = Math.max(1, Math.floor(limitInForce(l, now, limit)));
  const ids = Object.keys(l.participants);
  const share = inForce / ids.length;
  const held = (id) => l.entries.reduce((n, e) => n + (e[0] === id ? 1 : 0), 0);
  let reserved = 0;
  for (const id of ids) {
    const p = l.participants[id];
    if (id !== who && (p.waiting || now - p.seen <= HUNGRY_MS)) reserved += Math.max(0, Math.ceil(share) - held(id));
  }
  const room = inForce - l.entries.length - reserved;
  const granted = Math.max(0, Math.min(ask.want, room));
  if (granted === 0) {
    // Something changes when an entry stops counting (or at a grow step, within a second).
    const next = l.entries.reduce((t, e) => Math.min(t, e[1]), Infinity);
    return refuse(Math.min(next - now, HUNGRY_MS));
  }
  for (let i = 0; i < granted; i++) l.entries.push([who, now + IN_FLIGHT_HOLD_MS + windowMs, 1]);
  me.waiting = false;
  return { granted };
}

/** Sync `who` ends at `now`: its unused grants are handed back, its last answers noted, and it leaves. */
export function leave(l, who, last, now) {
  const p = l.participants[who];
  if (!p) return;
  const { limit, windowMs } = configured(l);
  noteAnswers(l, who, last, now, windowMs, limit);
  let unused = last.unused ?? 0;
  for (let i = l.entries.length - 1; i >= 0 && unused > 0; i--) {
    if (l.entries[i][0] === who && l.entries[i][2] === 1) {
      l.entries.splice(i, 1);
      unused -= 1;
    }
  }
  delete l.participants[who];
  prune(l, now);
}

/**
 * The ledger for hosts that keep it themselves (the example Worker's Durable Object, a host
 * running several syncs in one process): `read(text, now, rate)` → `{ledger, lost}`,
 * `acquire(ledger, who, ask, now, rate)` → `{granted, retryAfterMs?}`, `release(ledger, who,
 * last, now)`; store `JSON.stringify(ledger)` after each.
 */
export const SharedBudgetLedger = Object.freeze({ format: BUDGET_FORMAT, read: readLedger, acquire: decide, release: leave });
