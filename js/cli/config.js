// The config file, learner-sync.json: what a team keeps in its repository (platform, base URL,
// matching keys, mapping, orphan policy, guards, limits). Read from --config FILE, or from
// ./learner-sync.json when present; flags override it (learner-sync.js merges them).
//
// Every key is checked here, so a mistake names the file and the key, and no value from the
// file is ever echoed: a secret pasted into the wrong key must not reach a CI log. Credentials
// are refused outright: they belong in the environment, never in a file kept in a repository.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseRateText } from '../rate.js';
import { UsageError } from './usage.js';

export const DEFAULT_CONFIG = 'learner-sync.json';

/** Whether standard input was read already (`-`): it can be read only once. */
let stdinRead = false;

/** The file's bytes, or a UsageError naming it; `-` reads standard input (once). */
export function readFile(path, what) {
  if (path === '-') {
    if (stdinRead) throw new UsageError(`cannot read ${what} from standard input (-): it was read already for another file`);
    stdinRead = true;
    try {
      return readFileSync(0);
    } catch (e) {
      throw new UsageError(`cannot read ${what} from standard input (-): ${e.message}`);
    }
  }
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/**
 * Parses a JSON file's bytes. The error says where the text breaks, never what it says (the
 * JS engine's own message quotes the text, which may hold a secret).
 */
export function parseJson(bytes, path, what) {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec(e.message);
    const offset = at ? Number(at[1]) : invalidAt(text);
    let where = '';
    if (offset !== undefined) {
      const before = text.slice(0, offset);
      where = ` (line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new UsageError(`${what} ${path} is not valid JSON${where}`);
  }
}

/**
 * Where JSON text stops being valid, as an offset (undefined if it is valid): a small
 * recursive-descent reader, for the errors whose message gives no position.
 */
function invalidAt(text) {
  let i = 0;
  const stop = () => {
    throw i;
  };
  const space = () => {
    while (' \t\n\r'.includes(text[i] ?? 'x')) i++;
  };
  const word = (w) => (text.startsWith(w, i) ? (i += w.length) : stop());
  const string = () => {
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] < ' ') stop();
      if (text[i] === '\\') i++;
    }
    if (text[i++] !== '"') stop();
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) stop();
    i += m[0].length;
  };
  const items = (close, item) => {
    i++;
    space();
    if (text[i] === close) return i++;
    for (;;) {
      item();
      space();
      if (text[i] === close) return i++;
      if (text[i] !== ',') stop();
      i++;
    }
  };
  const value = () => {
    space();
    const c = text[i];
    if (c === '{') {
      items('}', () => {
        space();
        if (text[i] !== '"') stop();
        string();
        space();
        if (text[i++] !== ':') stop();
        value();
      });
    } else if (c === '[') items(']', value);
    else if (c === '"') string();
    else if (c === 't' || c === 'f' || c === 'n') word({ t: 'true', f: 'false', n: 'null' }[c]);
    else number();
  };
  try {
    value();
    space();
    return i < text.length ? i : undefined;
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, text.length);
    throw at;
  }
}

/** A request budget such as "200/60s" (units ms, s, m) as {limit, windowMs} (the API's parser). */
export function parseRate(text, what) {
  const rate = parseRateText(text);
  if (!rate) throw new UsageError(`${what} must look like 200/60s (requests/window, window in ms, s or m)`);
  return rate;
}

/** Key names that hold credentials. `scim.key` is a known key and never reaches this test. */
const CREDENTIAL = /secret|token|passw|credential|api.?key|client.?id|auth|bearer|^key$|^private/i;

const ENV_NAMES = 'FOUNDRY_CLIENT_ID and FOUNDRY_CLIENT_SECRET, LEARNIFIER_KEY and LEARNIFIER_SECRET, or SCIM_TOKEN';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Validators: (value, at, ctx) -> the value to use, or a UsageError naming ctx.file and `at`.
const fail = (ctx, at, message) => {
  throw new UsageError(`${ctx.file}: ${at} ${message}`);
};
const text = (v, at, ctx) => (typeof v === 'string' && v.trim() ? v : fail(ctx, at, 'must be a non-empty string'));
const bool = (v, at, ctx) => (typeof v === 'boolean' ? v : fail(ctx, at, 'must be true or false'));
const oneOf = (...names) => (v, at, ctx) => (names.includes(v) ? v : fail(ctx, at, `must be one of ${names.map((n) => JSON.stringify(n)).join(', ')}`));
const whole = (min) => (v, at, ctx) => (Number.isInteger(v) && v >= min ? v : fail(ctx, at, `must be a whole number of at least ${min}`));
const number = (min, max, maxIncluded = true) => (v, at, ctx) =>
  typeof v === 'number' && v >= min && (maxIncluded ? v <= max : v < max) ? v : fail(ctx, at, `must be a number in [${min}, ${max}${maxIncluded ? ']' : ')'}`);
const strings = (v, at, ctx) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : fail(ctx, at, 'must be an array of strings'));
const refused = (message) => (v, at, ctx) => fail(ctx, at, message);

function object(shape, { required = [] } = {}) {
  return (v, at, ctx) => {
    if (!isObject(v)) fail(ctx, at || 'the file', 'must be a JSON object');
    const out = {};
    for (const [key, value] of Object.entries(v)) {
      const path = at ? `${at}.${key}` : key;
      if (Object.hasOwn(shape, key)) out[key] = shape[key](value, path, ctx);
      else if (CREDENTIAL.test(key)) {
        fail(ctx, path, `looks like a credential: credentials do not belong in a config file kept in a repository; set ${ENV_NAMES} in the environment`);
      } else fail(ctx, path, `is not a known key (known here: ${Object.keys(shape).join(', ')})`);
    }
    for (const key of required) if (!Object.hasOwn(v, key)) fail(ctx, at ? `${at}.${key}` : key, 'is missing');
    return out;
  };
}

const KEYS = ['ssoId', 'employeeId', 'studentId', 'email'];
const FIELDS = [...KEYS, 'firstName', 'lastName', 'active', 'platformId'];

function matchKeys(v, at, ctx) {
  if (!Array.isArray(v) || v.length === 0) fail(ctx, at, `must be a non-empty array of matching keys (${KEYS.join(', ')})`);
  v.forEach((k, i) => oneOf(...KEYS)(k, `${at}[${i}]`, ctx));
  return v;
}

const columnRule = object({ column: text, activeValues: strings, inactiveValues: strings }, { required: ['column'] });

function mappingObject(v, at, ctx) {
  if (!isObject(v)) fail(ctx, at, 'must be an object of fields to columns, or the path of a mapping file');
  const out = {};
  for (const [field, rule] of Object.entries(v)) {
    if (!FIELDS.includes(field)) fail(ctx, `${at}.${field}`, `is not a field (fields: ${FIELDS.join(', ')})`);
    out[field] = typeof rule === 'string' ? text(rule, `${at}.${field}`, ctx) : columnRule(rule, `${at}.${field}`, ctx);
  }
  return out;
}

/** An inline mapping, or a mapping file's path relative to the config file. */
function mapping(v, at, ctx) {
  if (typeof v !== 'string') return mappingObject(v, at, ctx);
  const path = resolve(ctx.dir, text(v, at, ctx));
  const mapped = parseJson(readFile(path, `mapping file (${ctx.file}: ${at})`), path, 'mapping file');
  return mappingObject(mapped, at, { ...ctx, file: path });
}

function baseUrl(v, at, ctx) {
  text(v, at, ctx);
  if (/^[^/?#]*:\/\/[^/?#]*@/.test(v)) fail(ctx, at, `must not carry credentials (user:password@); set ${ENV_NAMES} in the environment`);
  return v;
}

const share = (v, at, ctx) => (typeof v === 'number' && v > 0 && v <= 1 ? v : fail(ctx, at, 'must be a number in (0, 1]'));
const rateObject = object({ limit: whole(1), windowMs: whole(1), share }, { required: ['limit', 'windowMs'] });

function rate(v, at, ctx) {
  if (typeof v !== 'string') return rateObject(v, at, ctx);
  try {
    return parseRate(v, `${ctx.file}: ${at}`);
  } catch {
    return fail(ctx, at, 'must look like "200/60s" or be {"limit": 200, "windowMs": 60000, "share": 1}');
  }
}

/** Every key a config file may hold; each value is checked, and converted where needed. */
const SCHEMA = object({
  platform: oneOf('foundry', 'learnifier', 'scim'),
  baseUrl,
  match: matchKeys,
  linkByEmail: bool,
  orphans: oneOf('review', 'deactivate', 'delete'),
  mapping,
  protect: strings,
  adminRoles: strings,
  scim: object({ key: oneOf('externalId', 'userName'), userName: oneOf('email', 'key') }),
  guards: object({
    maxDeactivatePercent: number(0, 100),
    maxDeactivateCount: whole(0),
    expectedLearners: whole(0),
    sourceTolerance: number(0, 1, false),
    approve: refused('belongs on the command line (--approve FINGERPRINT): an approval is for one held plan, not every run'),
  }),
  mode: oneOf('full', 'delta'),
  rate,
  concurrency: whole(1),
  retry: object({ maxAttempts: whole(1), maxRateLimited: whole(0), baseMs: whole(0), maxMs: whole(0), maxWaitMs: whole(0) }),
  pageSize: whole(1),
  foundry: object({ ruleSet: text, role: text }, { required: ['ruleSet', 'role'] }),
  autoClearEmail: bool,
});

/**
 * The config file's options, checked: from `path` (--config), else ./learner-sync.json in
 * `cwd` when there is one. Returns `{options, file, implicit}`; `options` is `{}` without a file.
 */
export function loadConfig(path, cwd = process.cwd()) {
  let file = path;
  if (!file) {
    if (!existsSync(resolve(cwd, DEFAULT_CONFIG))) return { options: {}, file: undefined, implicit: false };
    file = DEFAULT_CONFIG;
  }
  // `-`: standard input; a mapping file it names is then relative to the current directory.
  const full = file === '-' ? '-' : resolve(cwd, file);
  const raw = parseJson(readFile(full, 'config file'), file === '-' ? 'from standard input' : file, 'config file');
  const ctx = { file: file === '-' ? 'config file (standard input)' : file, dir: file === '-' ? cwd : dirname(full) };
  return { options: SCHEMA(raw, '', ctx), file, implicit: !path };
}
