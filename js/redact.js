// @ts-check
// Redaction on the JS side: the text the CLI prints, the errors the API throws and the lines
// the Worker logs pass through the core's redactor (src/sync/redact.rs) with the credentials
// at hand, so a credential never shows in any encoding: raw, URL-encoded, JSON-escaped, base64
// of key:secret, or cut part-way.
import { redactSecrets as rawRedact } from '../pkg/learner_sync.js';

const NAMES = new Set(['clientId', 'clientSecret', 'key', 'secret', 'token']);

/** A credential given as another type (a number, an object) as the text it may be echoed as. */
function asText(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * `text` without any of `credentials` (`{clientId, clientSecret, key, secret, token}`, values
 * of any type) in any encoding. Extra secrets (an access token) may be passed in `extra`.
 */
export function redactSecrets(text, credentials, extra = []) {
  const named = {};
  const others = extra.filter((s) => typeof s === 'string');
  if (credentials && typeof credentials === 'object') {
    for (const [k, v] of Object.entries(credentials)) {
      if (v === undefined || v === null) continue;
      if (NAMES.has(k) && typeof v === 'string') named[k] = v;
      else others.push(asText(v));
    }
  }
  return rawRedact(String(text), JSON.stringify(named), others);
}

/**
 * `e` with its message and stack redacted (its code and other fields kept); returns it.
 * `extra`: other secrets (an access token).
 */
export function redactError(e, credentials, extra = []) {
  if (!e || typeof e !== 'object') return e;
  for (const field of ['message', 'stack']) {
    if (typeof e[field] === 'string') {
      try {
        e[field] = redactSecrets(e[field], credentials, extra);
      } catch {
        // A frozen error, or wasm that cannot run: the original is rethrown as it is.
      }
    }
  }
  return e;
}

