// The learner-sync JS API, shared by every runtime entry (node.js, browser.js, workerd.js).
// Each entry initialises the wasm module its own way, then re-exports this file.
//
// Pages cross into wasm as bytes and the plan comes back as one JSON text: no learner is
// ever converted object by object.
import { RawPlanner, planToCsv as rawPlanToCsv, reportToCsv as rawReportToCsv } from '../pkg/learner_sync.js';
import { LearnerSyncError, pageSpec, rethrow, toBytes } from './errors.js';

export { LearnerSyncError } from './errors.js';
export { sync, credentialsFromEnv } from './sync.js';
export { beginSync, stepSync } from './steps.js';

/**
 * Collects pages of the system of record and of the platform, then plans.
 * See index.d.ts for the types.
 */
export class Planner {
  #raw;
  constructor(options) {
    if (!options || typeof options !== 'object') {
      throw new LearnerSyncError('INVALID_OPTIONS', 'options must be an object such as {platform: "foundry"}');
    }
    try {
      this.#raw = new RawPlanner(JSON.stringify(options));
    } catch (e) {
      rethrow(e);
    }
  }

  /** Adds a page of the system of record: CSV or JSON text (string or bytes). */
  addSource(page, { format = 'auto', label = '' } = {}) {
    try {
      return this.#raw.addSource(toBytes(page, 'a source page'), format, label);
    } catch (e) {
      rethrow(e);
    }
  }

  /** Adds a page of platform users: a raw list-response body, or normalised JSON. */
  addTarget(page, { format = 'auto', label = '' } = {}) {
    try {
      return this.#raw.addTarget(toBytes(page, 'a target page'), format, label);
    } catch (e) {
      rethrow(e);
    }
  }

  /** The plan as JSON text (what the CLI prints). */
  finishJson() {
    return this.#raw.finishJson();
  }

  /** The plan as an object. */
  finish() {
    return JSON.parse(this.finishJson());
  }

  /** Frees the wasm memory held by this planner (it is also freed when garbage-collected). */
  free() {
    this.#raw.free();
  }
}

/**
 * Plans in one call: `plan(options, {sources: [...], targets: [...]})`. Each page is a string,
 * bytes, or `{page, format?, label?}`.
 */
export function plan(options, { sources = [], targets = [] } = {}) {
  const p = new Planner(options);
  try {
    for (const spec of sources.map(pageSpec)) p.addSource(spec.page, spec);
    for (const spec of targets.map(pageSpec)) p.addTarget(spec.page, spec);
    return p.finish();
  } finally {
    p.free();
  }
}

function toCsv(convert, value, what) {
  const text = typeof value === 'string' ? value : value && typeof value === 'object' ? JSON.stringify(value) : undefined;
  if (text === undefined) throw new LearnerSyncError('INVALID_INPUT', `the ${what} must be a ${what} object or its JSON text`);
  try {
    return convert(text);
  } catch (e) {
    rethrow(e);
  }
}

/**
 * The plan (an object, or its JSON text) as CSV text for a spreadsheet: a header row, then
 * one row per action. See index.d.ts for the columns.
 */
export function planToCsv(plan) {
  return toCsv(rawPlanToCsv, plan, 'plan');
}

/** A sync report's outcomes (the report object, or its JSON text) as CSV text, one row each. */
export function reportToCsv(report) {
  return toCsv(rawReportToCsv, report, 'report');
}
