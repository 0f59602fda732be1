// @ts-check
// The host's shared budget (`host.sharedBudget` of sync()): how several syncs of one organisation
// share its rate budget. The driver (js/sync.js) asks the hook before the engine's requests go:
//
//   engine.pollTimeout(now) <= now, no grant left ──▶ await budget.acquire({want, answered, rateLimited, retryAfterMs})
//        {granted: n}            ──▶ up to n requests taken from engine.pollTransmit
//        {granted: 0, retryAfterMs} ──▶ ask again then (answers are still handled meanwhile)
//   the run ends                 ──▶ await budget.release({unused, answered, rateLimited, retryAfterMs})
//
// A hook that throws, or answers anything but a whole `granted` from 0 to `want` (with a
// `retryAfterMs` when 0), stops the invocation as a spent budget does: nothing more is sent,
// the answers in flight are awaited, and the report is suspended with `BUDGET_FAILED` and a
// checkpoint. Nothing is sent without a grant. A `release` that fails is ignored (the grants it
// would hand back only count until they expire: the other syncs send less, never more).
import { LearnerSyncError } from './errors.js';

/** The longest wait taken from one answer of the hook: it is asked again after it. */
const MAX_WAIT_MS = 60_000;

/** `budget` when it is a budget hook, undefined when absent; INVALID_OPTIONS otherwise. */
export function budgetOf(budget) {
  if (budget === undefined || budget === null) return undefined;
  if (typeof budget !== 'object' || typeof budget.acquire !== 'function' || (budget.release !== undefined && typeof budget.release !== 'function')) {
    throw new LearnerSyncError('INVALID_OPTIONS', 'sharedBudget must be an object with acquire({want, answered, rateLimited, retryAfterMs}) and, optionally, release(...) functions');
  }
  return budget;
}

/** The answers of the sync since it last told the hook: counts, and the longest Retry-After of its 429s. */
export class AnswerTally {
  answered = 0;
  rateLimited = 0;
  /** @type {number | undefined} */
  retryAfterMs = undefined;

  /** Notes an answer (`status` undefined: none came), with its headers (`[[name, value]]`). */
  note(status, headers, now) {
    this.answered += 1;
    if (status !== 429) return;
    this.rateLimited += 1;
    const ms = retryAfterMs(headers, now);
    if (ms !== undefined) this.retryAfterMs = Math.max(this.retryAfterMs ?? 0, ms);
  }

  /** The tally so far, and a fresh one begun. */
  take() {
    const out = { answered: this.answered, rateLimited: this.rateLimited };
    if (this.retryAfterMs !== undefined) out.retryAfterMs = this.retryAfterMs;
    this.answered = 0;
    this.rateLimited = 0;
    this.retryAfterMs = undefined;
    return out;
  }
}

/** A Retry-After header in ms (seconds, or an HTTP-date read against `now`), or undefined. */
function retryAfterMs(headers, now) {
  const value = headers?.find?.(([name]) => name.toLowerCase() === 'retry-after')?.[1]?.trim();
  if (!value) return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

const shown = (v) => {
  try {
    const text = JSON.stringify(v);
    return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof v;
  }
};

/**
 * Asks the hook for up to `want` requests. Resolves to `{granted}` (at least 1), `{waitMs}`
 * (none now: ask again after it), or `{failed: message}` (the hook threw, or answered
 * nonsense: the message says which and why).
 */
export async function askBudget(budget, want, tally) {
  const ask = { want, ...tally.take() };
  let answer;
  try {
    answer = await budget.acquire(ask);
  } catch (e) {
    return { failed: `the shared budget's acquire() failed: ${/** @type {any} */ (e)?.message ?? String(e)}` };
  }
  const bad = (field, why) => ({ failed: `the shared budget's acquire() answered ${field} ${shown(answer?.[field] ?? answer)} for ${want} asked: ${why}` });
  if (!answer || typeof answer !== 'object') return { failed: `the shared budget's acquire() answered ${shown(answer)}: it must be {granted, retryAfterMs}` };
  const { granted, retryAfterMs } = answer;
  if (!Number.isInteger(granted) || granted < 0 || granted > want) return bad('granted', `it must be a whole number from 0 to ${want}`);
  if (granted > 0) return { granted };
  if (typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0)) return bad('retryAfterMs', 'with nothing granted it must say, in ms (a number, 0 or more), when to ask again');
  return { waitMs: Math.min(Math.max(retryAfterMs, 5), MAX_WAIT_MS) };
}

/** Tells the hook the sync ended: its unused grants and last answers. A failure is ignored (see the module docs). */
export async function releaseBudget(budget, unused, tally) {
  if (!budget?.release) return;
  try {
    await budget.release({ unused, ...tally.take() });
  } catch {
    // The grants not handed back expire on their own: the others send less meanwhile, never more.
  }
}
