// @ts-check
// A request budget written as text, "200/60s" (units ms, s, m): one parser for the config
// file, the --rate flag, the JS API's `rate` option and the Worker's (sync, beginSync and
// stepSync all pass their options through `settings` in sync.js, which uses it).

const RATE = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/;

/**
 * `text` ("200/60s") as `{limit, windowMs}`, or `undefined` when it is not written that way
 * (each caller words its own error: a flag, a config key, an option).
 */
export function parseRateText(text) {
  const m = typeof text === 'string' ? RATE.exec(text) : null;
  if (!m) return undefined;
  const limit = Number(m[1]);
  const windowMs = Math.round(Number(m[2]) * { ms: 1, s: 1000, m: 60_000 }[m[3]]);
  if (limit < 1 || !Number.isSafeInteger(limit) || windowMs < 1) return undefined;
  return { limit, windowMs };
}

/** How a rate is written, for error messages. */
export const RATE_FORMS = '"200/60s" (requests/window, the window in ms, s or m) or {limit: 200, windowMs: 60000, share: 1}';
