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

/** Rethrows an error from wasm as a LearnerSyncError (other errors as they are). */
export function rethrow(e) {
  if (e && typeof e.code === 'string' && !(e instanceof LearnerSyncError)) {
    const { code, message, label, field, column } = e;
    const extra = {};
    for (const [k, v] of Object.entries({ label, field, column })) if (v !== undefined) extra[k] = v;
    throw new LearnerSyncError(code, message, extra);
  }
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

/** A page as `{page, format?, label?}`: a bare page (string, bytes, JSON value) gets no options. */
export function pageSpec(item) {
  const isSpec = item && typeof item === 'object' && !ArrayBuffer.isView(item) && !(item instanceof ArrayBuffer) && 'page' in item;
  return isSpec ? item : { page: item };
}
