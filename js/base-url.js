// The base URL check of the JS API, before anything reaches wasm (which checks it again, the
// same strict way, in src/sync/options.rs `check_base_url`). The URL is read by the WHATWG URL
// parser, the one the host's fetch uses, and accepted only when the parser reads it exactly as
// it is written: no tab or line break it would drop, no `127。0。0。1` it would map to
// `127.0.0.1`, no `0x7f.1` or `%31` host it would rewrite, no `..` it would resolve.
// Plain http only on the real loopback interface.
import { LearnerSyncError } from './errors.js';

const LOOPBACK_V4 = /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Text for an error: anything but printable ASCII as \u{…}, user information hidden. */
function shown(text) {
  const hidden = text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_, scheme = '') => `${scheme}***@`);
  return JSON.stringify(hidden.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`));
}

function describe(c) {
  if (c === ' ') return 'a space';
  if (c === '\t') return 'a tab';
  if (c === '\n' || c === '\r') return 'a line break';
  return /\p{Cc}/u.test(c) ? 'a control character' : 'a character that is not plain ASCII';
}

/** Throws INVALID_OPTIONS unless `text` is a base URL the engine may send credentials to. */
export function checkBaseUrl(text) {
  if (typeof text !== 'string') throw new LearnerSyncError('INVALID_OPTIONS', 'baseUrl must be text such as "https://api.fifoundry.net"');
  const bad = (why) => new LearnerSyncError('INVALID_OPTIONS', `invalid options: baseUrl ${shown(text)}: ${why}`);
  const odd = text.match(/[^\x21-\x7e]/u);
  if (odd) {
    const code = odd[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw bad(`contains ${describe(odd[0])} (U+${code}): a base URL is plain ASCII text`);
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a URL (it must start with https://)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('must start with https://');
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(text)) throw bad('must not carry credentials; pass them in credentials');
  if (/[?#]/.test(text)) throw bad('must not have a query or a fragment: each request appends its own path and query');
  // Scheme and host are case-insensitive; everything else must be as the parser reads it.
  const written = text.replace(/^[a-z]+:\/\/[^/]*/i, (origin) => origin.toLowerCase());
  if (url.href !== written && url.href !== `${written}/`) throw bad(`is read as ${shown(url.href)}: write it that way`);
  if (url.protocol === 'http:' && !(url.hostname === 'localhost' || url.hostname === '[::1]' || LOOPBACK_V4.test(url.hostname))) {
    throw bad('must be https (plain http is allowed only on loopback: 127.x.y.z written as four decimal numbers, localhost, [::1])');
  }
}
