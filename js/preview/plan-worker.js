// The preview's planning worker: reads the dropped files, plans with the package's browser
// entry, and keeps the plan so the page can ask for one page of the table at a time (the page
// never holds 100,000 actions, and never parses the plan on its main thread).
//
// Protocol (postMessage; the page makes one worker per plan and terminates it to cancel):
//   page -> worker  {type: 'plan', options, sourceText: {delimiter, encoding}, sources: File[], targets: File[]}
//   worker -> page  {type: 'progress', phase: 'source' | 'target' | 'planning', done, total, label,
//                    records (learners or users read so far)}
//                   {type: 'planned', summary, held, withheld, fingerprint, options, count,
//                    counts, sourcePages, targetPages, json: Blob, csv: Blob | null, csvError}
//                   {type: 'error', error: {code, message, label}}
//   page -> worker  {type: 'query', id, kinds: string[], text, page, pageSize}
//   worker -> page  {type: 'rows', id, rows, total, page}
//
// `json` is the engine's finishJson() text, untouched: the pinned plan `sync --plan` applies.
import { isJsonPage, platformCsvToNormalised } from './platform-csv.js';
import { searchText, fold } from './search.js';

// Imported dynamically: the browser entry awaits the wasm at its top level, and a static import
// would hold back this module (and its onmessage) until then, losing the page's first message.
const loading = import('../browser.js');
loading.catch(() => {});

/** The plan held for queries: its actions and a lowercase search text per action. */
let held = null;
/** The last filter, so paging does not filter again. */
let lastFilter = { key: null, matches: null };

const post = (msg) => self.postMessage(msg);

self.onmessage = async ({ data: msg }) => {
  try {
    if (msg.type === 'plan') await plan(msg);
    else if (msg.type === 'query') query(msg);
  } catch (e) {
    post({ type: 'error', error: { code: e?.code ?? 'INTERNAL', message: String(e?.message ?? e), label: e?.label } });
  }
};

function progressPoster() {
  let last = 0;
  return (phase, done, total, label, records, force = false) => {
    const now = Date.now();
    if (!force && now - last < 40 && done < total) return;
    last = now;
    post({ type: 'progress', phase, done, total, label, records });
  };
}

async function plan({ options, sourceText = {}, sources, targets }) {
  const progress = progressPoster();
  const learnerSync = await loading;
  const planner = new learnerSync.Planner(options);
  let json;
  const sourcePages = [];
  const targetPages = [];
  try {
    let learners = 0;
    for (const [i, file] of sources.entries()) {
      progress('source', i, sources.length, file.name, learners, true);
      const { delimiter = '', encoding = '' } = sourceText;
      const stats = planner.addSource(new Uint8Array(await file.arrayBuffer()), { label: file.name, delimiter, encoding });
      sourcePages.push(stats);
      learners += stats.records;
    }
    progress('source', sources.length, sources.length, '', learners, true);
    const primary = options.match?.[0] ?? 'ssoId';
    const decoder = new TextDecoder();
    let users = 0;
    for (const [i, file] of targets.entries()) {
      progress('target', i, targets.length, file.name, users, i === 0);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const label = file.name;
      const stats = isJsonPage(bytes)
        ? planner.addTarget(bytes, { label })
        : planner.addTarget(platformCsvToNormalised(decoder.decode(bytes), { primary, label }), { format: 'normalised', label });
      targetPages.push(stats);
      users += stats.records;
    }
    progress('target', targets.length, targets.length, '', users, true);
    progress('planning', 0, 1, '', 0, true);
    json = planner.finishJson();
  } finally {
    planner.free();
  }
  const parsed = JSON.parse(json);
  held = { actions: parsed.actions, search: parsed.actions.map(searchText) };
  lastFilter = { key: null, matches: null };
  const counts = {};
  for (const a of parsed.actions) counts[a.action] = (counts[a.action] ?? 0) + 1;
  let csv = null;
  let csvError;
  try {
    // A byte-order mark first, so that spreadsheets read the names as UTF-8.
    csv = new Blob(['\ufeff', await toCsv(learnerSync, parsed)], { type: 'text/csv' });
  } catch (e) {
    csvError = String(e?.message ?? e);
  }
  post({
    type: 'planned',
    summary: parsed.summary,
    held: parsed.held ?? null,
    withheld: parsed.withheld ?? null,
    fingerprint: parsed.fingerprint,
    options: parsed.options,
    count: parsed.actions.length,
    counts,
    sourcePages,
    targetPages,
    json: new Blob([json], { type: 'application/json' }),
    csv,
    csvError,
  });
}

/** The plan as CSV, by the package's planToCsv. */
async function toCsv(learnerSync, plan) {
  if (typeof learnerSync.planToCsv !== 'function') throw new Error('this build of the package has no planToCsv');
  return learnerSync.planToCsv(plan);
}

function query({ id, kinds, text, page, pageSize }) {
  if (!held) return;
  const needle = fold(String(text ?? '').trim());
  const key = `${kinds.join(',')}\n${needle}`;
  if (lastFilter.key !== key) {
    const wanted = new Set(kinds);
    const matches = [];
    const { actions, search } = held;
    for (let i = 0; i < actions.length; i++) {
      if (wanted.has(actions[i].action) && (!needle || search[i].includes(needle))) matches.push(i);
    }
    lastFilter = { key, matches };
  }
  const { matches } = lastFilter;
  const pages = Math.max(1, Math.ceil(matches.length / pageSize));
  const p = Math.min(Math.max(0, page), pages - 1);
  const rows = matches.slice(p * pageSize, (p + 1) * pageSize).map((i) => held.actions[i]);
  post({ type: 'rows', id, rows, total: matches.length, page: p });
}
