// @ts-check
// The learner-sync JS API, shared by every runtime entry (node.js, browser.js, workerd.js).
// Each entry initialises the wasm module its own way, then re-exports this file.
//
// Pages cross into wasm as bytes and the plan comes back as one JSON text: no learner is
// ever converted object by object.
import { RawPlanner, planToCsv as rawPlanToCsv, reportToCsv as rawReportToCsv } from '../pkg/learner_sync.js';
import { LearnerSyncError, argObject, jsonText, pageOptions, pageSpecs, rethrow, toBytes } from './errors.js';

export { LearnerSyncError } from './errors.js';
export { sync, credentialsFromEnv } from './sync.js';
export { beginSync, stepSync } from './steps.js';
export { redactSecrets } from './redact.js';

/**
 * Collects pages of the system of record and of the platform, then plans.
 * See index.d.ts for the types.
 */
export class Planner {
  /** @type {RawPlanner | undefined} */
  #raw;
  constructor(options) {
    if (!options || typeof options !== 'object') {
      throw new LearnerSyncError('INVALID_OPTIONS', 'options must be an object such as {platform: "foundry"}');
    }
    const json = jsonText(options, 'the options');
    try {
      this.#raw = new RawPlanner(json);
    } catch (e) {
      rethrow(e);
    }
  }

  /** The engine, or INVALID_STATE once freed (the glue would say "null pointer passed to rust"). */
  #engine() {
    if (!this.#raw) throw new LearnerSyncError('INVALID_STATE', 'this Planner was freed (free() was called): make a new one');
    return this.#raw;
  }

  /** Adds a page of the system of record: CSV or JSON text (string or bytes). */
  addSource(page, options) {
    const { format = 'auto', label = '' } = pageOptions(options, 'a source page');
    const raw = this.#engine();
    try {
      return raw.addSource(toBytes(page, 'a source page'), format, label);
    } catch (e) {
      rethrow(e);
    }
  }

  /** Adds a page of platform users: a raw list-response body, or normalised JSON. */
  addTarget(page, options) {
    const { format = 'auto', label = '' } = pageOptions(options, 'a target page');
    const raw = this.#engine();
    try {
      return raw.addTarget(toBytes(page, 'a target page'), format, label);
    } catch (e) {
      rethrow(e);
    }
  }

  /** The plan as JSON text (what the CLI prints). */
  finishJson() {
    const raw = this.#engine();
    try {
      return raw.finishJson();
    } catch (e) {
      rethrow(e);
    }
  }

  /** The plan as an object. */
  finish() {
    return JSON.parse(this.finishJson());
  }

  /** Frees the wasm memory held by this planner (it is also freed when garbage-collected). */
  free() {
    const raw = this.#engine();
    this.#raw = undefined;
    raw.free();
  }
}

/**
 * Plans in one call: `plan(options, {sources: [...], targets: [...]})`. Each page is a string,
 * bytes, or `{page, format?, label?}`.
 */
export function plan(options, pages) {
  const { sources = [], targets = [] } = argObject(pages, 'the pages ({sources, targets})');
  const sourceSpecs = pageSpecs(sources, 'sources');
  const targetSpecs = pageSpecs(targets, 'targets');
  const p = new Planner(options);
  try {
    for (const { page, ...spec } of sourceSpecs) p.addSource(page, spec);
    for (const { page, ...spec } of targetSpecs) p.addTarget(page, spec);
    return p.finish();
  } finally {
    p.free();
  }
}

function toCsv(convert, value, what) {
  const text = typeof value === 'string' ? value : value && typeof value === 'object' ? jsonText(value, `the ${what}`, 'INVALID_INPUT') : undefined;
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
