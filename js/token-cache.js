// @ts-check
// The host's token cache (`host.tokenCache`): where a host that runs a sync across invocations
// (stepSync, a resumed sync, the Worker) keeps the access token and its expiry, outside the
// state or checkpoint text, which never holds one. Each invocation hands the engine the token
// kept (`get`), which checks it as any token (expired: not used; refused with a 401: dropped
// and fetched anew), and stores each token the engine fetches (`set`).
import { LearnerSyncError } from './errors.js';
import { redactError } from './redact.js';

/** `cache` when it is a token cache, undefined when absent; INVALID_OPTIONS otherwise. */
export function tokenCacheOf(cache) {
  if (cache === undefined || cache === null) return undefined;
  if (typeof cache !== 'object' || typeof cache.get !== 'function' || typeof cache.set !== 'function') {
    throw new LearnerSyncError('INVALID_OPTIONS', 'tokenCache must be an object with get() and set({value, expiresAt}) functions');
  }
  return cache;
}

/**
 * The token the cache holds, as `{value, expiresAt}`, or undefined: an entry of another shape
 * is not used (the engine fetches a token). An error from `get` is thrown again, with every
 * credential removed.
 */
export async function cachedToken(cache, credentials) {
  let entry;
  try {
    entry = await cache.get();
  } catch (e) {
    throw redactError(e, credentials);
  }
  if (!entry || typeof entry !== 'object') return undefined;
  const { value, expiresAt } = entry;
  return typeof value === 'string' && Number.isFinite(expiresAt) ? { value, expiresAt } : undefined;
}

/** Stores a token the engine fetched; an error is thrown again without a credential or the token. */
export async function keepToken(cache, token, credentials) {
  try {
    await cache.set({ value: token.value, expiresAt: token.expiresAt });
  } catch (e) {
    throw redactError(e, credentials, [token.value]);
  }
}
