// DOM builders for the preview: the chart of counts, the guard banners, the totals and one
// table row per action. Every value that comes from data is set with textContent (through
// `el`), never parsed as HTML: a learner named `<img src=x onerror=alert(1)>` is shown as text.

/** The action kinds, in the order the chart and the filters show them. */
export const KINDS = ['create', 'update', 'reactivate', 'link', 'deactivate', 'delete', 'review', 'conflict', 'invalid'];

const KIND_HELP = {
  create: 'new platform users',
  update: 'changed fields written',
  reactivate: 'returning learners',
  link: 'existing users given their key',
  deactivate: 'leavers (and orphans, by policy)',
  delete: 'orphans, by policy',
  review: 'listed for review; nothing sent',
  conflict: 'keys collide; nothing done',
  invalid: 'rows that cannot be used',
};

const CONFLICTS = {
  duplicateLearnerKey: 'Two learners share a key',
  duplicatePlatformKey: 'Two platform users share a key',
  multipleMatches: 'One learner matches different users',
  sharedUser: 'Several learners match one user',
  keyMismatch: 'The user carries another primary key',
  keyTaken: 'A listed user already holds the key or email',
  sharedPlatformKey: 'Users share a key (reported only)',
  listedTwice: 'A user listed twice with different content',
};

/**
 * An element: `el('span', {className: 'x', dataset: {kind}}, 'text', child)`. Strings become
 * text nodes; null and undefined children are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'attrs') for (const [a, val] of Object.entries(v)) node.setAttribute(a, val);
    else node[k] = v;
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

const fmt = (n) => Number(n ?? 0).toLocaleString('en');

/** The bar chart of counts per action; clicking a bar calls `onPick(kind)`. */
export function renderChart(container, summary, onPick) {
  const max = Math.max(1, ...KINDS.map((k) => summary[k] ?? 0));
  const rows = KINDS.map((kind) => {
    const n = summary[kind] ?? 0;
    const bar = el('span', { className: `bar kind-${kind}` });
    bar.style.width = `${n === 0 ? 0 : Math.max(0.5, (100 * n) / max)}%`;
    return el(
      'button',
      { type: 'button', className: 'chart-row', dataset: { kind }, title: `${kind}: ${KIND_HELP[kind]} (click to show only these)`, onclick: () => onPick(kind) },
      el('span', { className: 'label' }, kind),
      el('span', { className: 'track' }, bar),
      el('span', { className: 'count' }, fmt(n)),
    );
  });
  container.replaceChildren(...rows);
}

/** Learners, platform users and what needs no action. */
export function renderTotals(container, summary, fingerprint) {
  const item = (stat, label, value) => [el('dt', {}, label), el('dd', { dataset: { stat } }, value)];
  container.replaceChildren(
    ...item('learners', 'Learners read', fmt(summary.learners)),
    ...item('platformUsers', 'Platform users read', fmt(summary.platformUsers)),
    ...item('unchanged', 'Unchanged', fmt(summary.unchanged)),
    ...item('untouched', 'Left alone', fmt(summary.untouched)),
    ...item('protected', 'Protected (admins, unmanaged, protect list)', fmt(summary.protected)),
    ...(summary.withheld ? item('withheld', 'Withheld by the source guard', fmt(summary.withheld)) : []),
    ...item('fingerprint', 'Platform state fingerprint', el('code', {}, fingerprint)),
  );
}

/** The guard banners: a held plan (with the fingerprint to approve it) and withheld deactivations. */
export function renderGuards(container, held, withheld) {
  const out = [];
  if (held) {
    out.push(el('div', { className: 'banner held', id: 'held' },
      el('strong', {}, 'Held by the mass-change guard: nothing is applied without approval.'),
      el('p', {}, held.reason),
      el('p', {}, `${fmt(held.deactivations)} deactivations or deletions planned; the guard allows ${fmt(held.limit)} of ${fmt(held.managedUsers)} managed users.`),
      el('p', {}, 'To apply it anyway: ', el('code', { className: 'approve' }, `learner-sync sync --plan FILE --approve ${held.fingerprint}`)),
      el('p', {}, 'Held fingerprint: ', el('code', { id: 'held-fingerprint' }, held.fingerprint))));
  }
  if (withheld) {
    out.push(el('div', { className: 'banner withheld', id: 'withheld' },
      el('strong', {}, `${fmt(withheld.count)} deactivations withheld by the source-completeness guard (not sent).`),
      el('p', {}, withheld.reason)));
  }
  container.replaceChildren(...out);
}

const show = (v) => (v == null || v === '' ? el('em', { className: 'empty' }, '(empty)') : el('span', { className: 'value' }, String(v)));

function changeList(changes) {
  return el('ul', { className: 'changes' }, Object.entries(changes).map(([field, c]) =>
    el('li', {}, el('span', { className: 'field' }, field), ' ', el('del', {}, show(c.from)), ' → ', el('ins', {}, show(c.to)))));
}

function valueList(values) {
  return el('ul', { className: 'values' }, Object.entries(values).map(([field, v]) =>
    el('li', {}, el('span', { className: 'field' }, field), ' ', show(v))));
}

const rowRef = (source, row) => (source == null ? '' : row == null ? source : `${source} row ${row}`);

function details(a) {
  const parts = [];
  const tags = [];
  if (a.orphan) tags.push(el('span', { className: 'tag' }, 'orphan'));
  if (a.withheld) tags.push(el('span', { className: 'tag warn' }, 'withheld: not sent'));
  if (a.matchedBy) tags.push(el('span', { className: 'tag' }, `matched by ${a.matchedBy}`));
  if (tags.length) parts.push(el('div', { className: 'tags' }, tags));
  switch (a.action) {
    case 'conflict':
      parts.push(el('p', {}, el('strong', {}, CONFLICTS[a.conflict] ?? a.conflict ?? 'Conflict'),
        a.field ? ` on ${a.field}` : '', a.value != null ? ' = ' : '', a.value != null ? el('span', { className: 'value' }, a.value) : ''));
      if (a.reason) parts.push(el('p', { className: 'reason' }, a.reason));
      if (a.rows?.length) parts.push(el('p', {}, 'Learners: ', a.rows.map((r) => rowRef(r.source, r.row)).join(', ')));
      if (a.platformIds?.length) parts.push(el('p', {}, 'Platform users: ', a.platformIds.join(', ')));
      break;
    case 'invalid':
      parts.push(el('p', {}, el('strong', {}, a.field ?? 'row'),
        a.value != null ? [' (', el('span', { className: 'value' }, a.value), ')'] : null));
      if (a.reason) parts.push(el('p', { className: 'reason' }, a.reason));
      break;
    default:
      if (a.changes) parts.push(changeList(a.changes));
      if (a.fields) parts.push(valueList(a.fields));
      if (a.reason) parts.push(el('p', { className: 'reason' }, a.reason));
      if (a.user) parts.push(el('p', { className: 'hint' }, 'On the platform:'), valueList(a.user));
  }
  return parts;
}

/** One table row for an action. */
export function renderRow(a) {
  return el('tr', { dataset: { action: a.action } },
    el('td', {}, el('span', { className: `badge kind-${a.action}` }, a.action)),
    el('td', { className: 'mono' }, a.key ?? ''),
    el('td', { className: 'mono' }, a.platformId ?? ''),
    el('td', {}, rowRef(a.source, a.row)),
    el('td', { className: 'details' }, details(a)));
}

/** The filter checkboxes, one per kind present, with their counts. */
export function renderKinds(fieldset, counts, onChange) {
  const boxes = KINDS.filter((k) => counts[k]).map((kind) =>
    el('label', { className: `kind kind-${kind}` },
      el('input', { type: 'checkbox', checked: true, value: kind, onchange: onChange }),
      ` ${kind} `, el('span', { className: 'hint' }, fmt(counts[kind]))));
  fieldset.replaceChildren(el('legend', {}, 'Show'), ...boxes);
}

export { fmt };
