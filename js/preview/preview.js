// The preview page: collects the dropped files and the options, hands them to a planning worker
// (plan-worker.js: the wasm runs there, off this thread), shows progress, then the plan: the
// chart, the guard banners, a filtered, searched, paged table (the worker keeps the actions and
// sends one page of rows at a time), and the downloads. Nothing is sent anywhere: the files are
// read in the worker and the downloads are blobs made in this page.
import { el, fmt, renderChart, renderGuards, renderKinds, renderRow, renderTotals } from './render.js';

const PAGE_SIZE = 100;
const $ = (id) => document.getElementById(id);

const state = {
  sources: [],
  targets: [],
  worker: null,
  planned: null,
  stale: false,
  page: 0,
  lastPage: 0,
  queryId: 0,
  urls: [],
};

// ---- Files -------------------------------------------------------------------------------

const same = (a, b) => a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;

function addFiles(list, files) {
  for (const f of files) if (!list.some((g) => same(f, g))) list.push(f);
  renderFiles();
  markStale();
}

/** Says so when the plan shown no longer matches the files and options (once per plan). */
function markStale() {
  if (!state.planned || state.stale) return;
  state.stale = true;
  warn('The files or options changed since this plan was made: preview it again before downloading.');
}

function renderFiles() {
  for (const [list, ul] of [[state.sources, $('source-list')], [state.targets, $('target-list')]]) {
    const shown = list.slice(0, 8).map((f) =>
      el('li', {}, el('span', { className: 'name' }, f.name), ' ', el('span', { className: 'hint' }, size(f.size)), ' ',
        el('button', { type: 'button', className: 'remove', title: `Remove ${f.name}`, onclick: () => removeFile(list, f) }, '×')));
    if (list.length > 8) {
      const bytes = list.reduce((n, f) => n + f.size, 0);
      shown.push(el('li', { className: 'hint' }, `…and ${fmt(list.length - 8)} more (${fmt(list.length)} files, ${size(bytes)}) `,
        el('button', { type: 'button', className: 'remove', onclick: () => { list.length = 0; renderFiles(); } }, 'clear all')));
    }
    ul.replaceChildren(...shown);
  }
  $('plan').disabled = state.sources.length === 0;
}

function removeFile(list, file) {
  list.splice(list.indexOf(file), 1);
  renderFiles();
  markStale();
}

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function wireDrop(zone, input, list) {
  input.addEventListener('change', () => {
    addFiles(list, input.files);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    addFiles(list, e.dataTransfer.files);
  });
}

// ---- Options -----------------------------------------------------------------------------

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** The plan options from the form; throws {code, message} when the mapping is not JSON. */
function readOptions() {
  const options = { platform: $('platform').value, orphans: $('orphans').value };
  const match = list($('match').value);
  if (match.length) options.match = match;
  const protect = list($('protect').value);
  if (protect.length) options.protect = protect;
  const mapping = $('mapping').value.trim();
  if (mapping) {
    try {
      options.mapping = JSON.parse(mapping);
    } catch (e) {
      throw { code: 'INVALID_OPTIONS', message: `the column mapping is not JSON: ${e.message}` };
    }
  }
  return options;
}

// ---- Progress ----------------------------------------------------------------------------

const PHASE_SPAN = { source: [0, 0.15], target: [0.15, 0.85], planning: [0.85, 0.95], rendering: [0.95, 1] };

/** Shows a phase: one line per phase in #phases (updated in place), and the progress bar. */
function setPhase(phase, text, fraction) {
  const status = $('status');
  status.hidden = false;
  status.dataset.phase = phase;
  let li = $('phases').querySelector(`li[data-phase="${phase}"]`);
  if (!li) {
    for (const prev of $('phases').children) prev.classList.add('finished');
    li = el('li', { dataset: { phase } });
    $('phases').append(li);
  }
  li.textContent = text;
  const bar = $('progress');
  const span = PHASE_SPAN[phase];
  if (!span) bar.value = 1;
  else if (fraction == null) bar.removeAttribute('value');
  else bar.value = span[0] + (span[1] - span[0]) * fraction;
}

function onProgress({ phase, done, total, label, records }) {
  if (phase === 'source') {
    const files = total > 1 ? ` ${fmt(Math.min(done + 1, total))}/${fmt(total)}` : '';
    const text = done < total ? `Reading the system of record${files}: ${label}` : `Read the system of record: ${fmt(records)} learners`;
    setPhase('source', text, total ? done / total : null);
  } else if (phase === 'target') {
    const verb = done < total ? 'Reading' : 'Read';
    setPhase('target', `${verb} platform pages ${fmt(done)}/${fmt(total)}: ${fmt(records)} users${done < total && label ? ` (${label})` : ''}`, total ? done / total : 1);
  } else {
    setPhase('planning', 'Planning', null);
  }
}

// ---- Running a plan ----------------------------------------------------------------------

function showError(err) {
  const box = $('error');
  box.hidden = false;
  box.replaceChildren(el('strong', {}, err.code ?? 'ERROR'), ': ', err.message ?? String(err));
}

function stopWorker() {
  state.worker?.terminate();
  state.worker = null;
  $('cancel').hidden = true;
  $('plan').disabled = state.sources.length === 0;
}

function start() {
  let options;
  try {
    options = readOptions();
  } catch (e) {
    showError(e);
    return;
  }
  stopWorker();
  for (const url of state.urls) URL.revokeObjectURL(url);
  state.urls = [];
  state.planned = null;
  state.stale = false;
  $('error').hidden = true;
  $('result').hidden = true;
  $('phases').replaceChildren();
  $('warnings').replaceChildren();
  if (state.targets.length === 0) warn('No platform export: every active learner is planned as a create.');

  const worker = new Worker(new URL('./plan-worker.js', import.meta.url), { type: 'module' });
  state.worker = worker;
  worker.onmessage = ({ data: msg }) => {
    if (worker !== state.worker) return;
    if (msg.type === 'progress') onProgress(msg);
    else if (msg.type === 'planned') onPlanned(msg);
    else if (msg.type === 'rows') onRows(msg);
    else if (msg.type === 'error') fail(msg.error);
  };
  worker.onerror = (e) => {
    if (worker !== state.worker) return;
    e.preventDefault();
    fail({ code: 'WORKER', message: e.message || 'the planning worker could not start (is pkg/ built? see the browser console)' });
  };
  $('plan').disabled = true;
  $('cancel').hidden = false;
  setPhase('source', 'Reading the system of record', null);
  // How the system of record's files are written: the delimiter and encoding, '' to detect.
  const sourceText = { delimiter: $('delimiter').value, encoding: $('encoding').value };
  worker.postMessage({ type: 'plan', options, sourceText, sources: [...state.sources], targets: [...state.targets] });
}

function fail(err) {
  stopWorker();
  setPhase('failed', 'Failed: nothing was planned');
  showError(err);
}

function cancel() {
  if (!state.worker) return;
  stopWorker();
  setPhase('cancelled', 'Cancelled');
}

function warn(text) {
  $('warnings').append(el('p', { className: 'warning' }, text));
}

function onPlanned(msg) {
  $('cancel').hidden = true;
  $('plan').disabled = false;
  setPhase('rendering', `Rendering ${fmt(msg.count)} actions`, 0);
  state.planned = msg;
  const pages = msg.targetPages;
  if (pages.some((p) => p.hasMore === true) && !pages.some((p) => p.hasMore === false)) {
    warn('No platform page says it is the last one: the export may be missing pages, and learners on them would be planned as creates.');
  }
  const invalidRows = msg.sourcePages.reduce((n, p) => n + p.invalid, 0);
  if (invalidRows) {
    const one = invalidRows === 1;
    warn(`${fmt(invalidRows)} source ${one ? 'row cannot' : 'rows cannot'} be used: listed as invalid below; nothing is done to ${one ? 'its platform user' : 'their platform users'}.`);
  }

  renderGuards($('guards'), msg.held, msg.withheld);
  renderChart($('chart'), msg.summary, pickOnly);
  renderTotals($('totals'), msg.summary, msg.fingerprint);
  renderKinds($('kinds'), msg.counts, () => query(0));
  setDownload($('download-json'), msg.json, `learner-sync-plan-${msg.fingerprint}.json`);
  if (msg.csv) {
    setDownload($('download-csv'), msg.csv, `learner-sync-plan-${msg.fingerprint}.csv`);
  } else {
    $('download-csv').hidden = true;
    warn(`The CSV download is not available: ${msg.csvError}`);
  }
  $('search').value = '';
  $('result').hidden = false;
  query(0);
}

function setDownload(a, blob, name) {
  const url = URL.createObjectURL(blob);
  state.urls.push(url);
  a.href = url;
  a.download = name;
  a.hidden = false;
}

// ---- The table ---------------------------------------------------------------------------

function checkedKinds() {
  return [...$('kinds').querySelectorAll('input:checked')].map((i) => i.value);
}

function query(page) {
  if (!state.worker || !state.planned) return;
  state.queryId += 1;
  $('actions').setAttribute('aria-busy', 'true');
  state.worker.postMessage({ type: 'query', id: state.queryId, kinds: checkedKinds(), text: $('search').value, page, pageSize: PAGE_SIZE });
}

function onRows({ id, rows, total, page }) {
  if (id !== state.queryId) return;
  $('actions').removeAttribute('aria-busy');
  state.page = page;
  $('actions').tBodies[0].replaceChildren(...rows.map(renderRow));
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const all = state.planned.count;
  $('shown').textContent = total === all ? `${fmt(all)} actions` : `${fmt(total)} of ${fmt(all)} actions match`;
  $('page-info').textContent = `Page ${fmt(page + 1)} of ${fmt(pages)}`;
  $('first').disabled = $('prev').disabled = page === 0;
  $('next').disabled = $('last').disabled = page >= pages - 1;
  state.lastPage = pages - 1;
  if ($('status').dataset.phase === 'rendering') setPhase('done', `Done: ${fmt(all)} actions planned`);
}

/** Shows only one kind (a click on its bar). */
function pickOnly(kind) {
  for (const box of $('kinds').querySelectorAll('input')) box.checked = box.value === kind;
  query(0);
  $('actions').scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// ---- Wiring ------------------------------------------------------------------------------

wireDrop($('source-drop'), $('source-files'), state.sources);
wireDrop($('target-drop'), $('target-files'), state.targets);
$('plan').addEventListener('click', start);
for (const id of ['platform', 'match', 'orphans', 'protect', 'mapping', 'delimiter', 'encoding']) $(id).addEventListener('input', markStale);
$('cancel').addEventListener('click', cancel);
const search = debounce(() => query(0), 200);
$('search').addEventListener('input', () => {
  $('actions').setAttribute('aria-busy', 'true');
  search();
});
$('first').addEventListener('click', () => query(0));
$('prev').addEventListener('click', () => query(state.page - 1));
$('next').addEventListener('click', () => query(state.page + 1));
$('last').addEventListener('click', () => query(state.lastPage));
$('mapping-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (file) {
    $('mapping').value = await file.text();
    markStale();
  }
  e.target.value = '';
});
// Dropping a file anywhere else must not navigate away from the page (and its data).
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());
document.documentElement.dataset.ready = 'true';
