// @ts-check
// Errors and input conversion shared by the planner and sync APIs.

const encoder = new TextEncoder();

/** An error from learner-sync, with a stable `code` to branch on. */
export class LearnerSyncError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'LearnerSyncError';
    this.code = code;
    Object.assign(this, extra);
  }
}

/**
 * Rethrows an error from wasm as a LearnerSyncError (other errors as they are).
 * @param {any} e
 * @returns {never}
 */
export function rethrow(e) {
  if (e && typeof e.code === 'string' && !(e instanceof LearnerSyncError)) {
    const { code, message, label, field, column } = e;
    /** @type {Record<string, unknown>} */
    const extra = {};
    for (const [k, v] of Object.entries({ label, field, column })) if (v !== undefined) extra[k] = v;
    throw new LearnerSyncError(code, message, extra);
  }
  // A trap inside the engine (a bug): still an error with a code.
  if (e instanceof WebAssembly.RuntimeError) throw new LearnerSyncError('INTERNAL', `the engine failed: ${e.message}`);
  throw e;
}

/** A page as bytes: strings are UTF-8 encoded, JSON values serialised. */
export function toBytes(page, what) {
  if (page instanceof Uint8Array) return page;
  if (typeof page === 'string') return encoder.encode(page);
  if (page instanceof ArrayBuffer) return new Uint8Array(page);
  if (ArrayBuffer.isView(page)) return new Uint8Array(page.buffer, page.byteOffset, page.byteLength);
  if (Array.isArray(page) || (page && typeof page === 'object')) return encoder.encode(JSON.stringify(page));
  throw new LearnerSyncError('INVALID_INPUT', `${what} must be a string, bytes, or JSON-serialisable value`);
}

/** The second argument of an API call (`host`, `pages`): an object, or absent. */
export function argObject(value, what) {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new LearnerSyncError('INVALID_OPTIONS', `${what} must be an object`);
  return value;
}

/** A page's options: `format` and `label`, each a string when given. */
export function pageOptions(options, what) {
  if (options === undefined) return {};
  if (!options || typeof options !== 'object' || Array.isArray(options)) {
    throw new LearnerSyncError('INVALID_INPUT', `the options of ${what} must be an object such as {format: "csv", label: "hr.csv"}`);
  }
  for (const key of ['format', 'label']) {
    if (options[key] !== undefined && typeof options[key] !== 'string') {
      throw new LearnerSyncError('INVALID_INPUT', `the ${key} of ${what} must be a string, not ${options[key] === null ? 'null' : typeof options[key]}`);
    }
  }
  return options;
}

/** A page as `{page, format?, label?}`: a bare page (string, bytes, JSON value) gets no options. */
export function pageSpec(item, what = 'a page') {
  const isSpec = item && typeof item === 'object' && !ArrayBuffer.isView(item) && !(item instanceof ArrayBuffer) && 'page' in item;
  return isSpec ? { ...pageOptions(item, what), page: item.page } : { page: item };
}

/** A list of pages (`sources`, `targets`) as page specs, each checked. */
export function pageSpecs(pages, what) {
  if (!Array.isArray(pages)) throw new LearnerSyncError('INVALID_INPUT', `${what} must be an array of pages`);
  return pages.map((p, i) => pageSpec(p, `${what}[${i}]`));
}

/**
 * Options (or a plan, a report) as JSON text; `code` when they cannot be serialised (a cycle,
 * a BigInt). The value itself is never echoed: options may hold credentials.
 */
export function jsonText(value, what, code = 'INVALID_OPTIONS') {
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw new LearnerSyncError(code, `${what} cannot be read as JSON (${e instanceof TypeError ? 'a cycle or a BigInt' : 'a value refused to serialise'})`);
  }
}
