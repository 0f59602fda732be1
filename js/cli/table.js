// The human-readable plan: one line per action, then the counts.

function detail(a) {
  switch (a.action) {
    case 'update':
    case 'reactivate':
    case 'link':
    case 'deactivate': {
      const parts = Object.entries(a.changes ?? {}).map(([f, c]) => `${f}: ${fmt(c.from)} -> ${fmt(c.to)}`);
      if (a.matchedBy) parts.unshift(`matched by ${a.matchedBy}`);
      if (a.orphan) parts.unshift('orphan');
      return parts.join('; ');
    }
    case 'create':
      return Object.entries(a.fields ?? {}).map(([f, v]) => `${f}=${fmt(v)}`).join(' ');
    case 'review':
    case 'delete':
      return [a.reason, a.user?.email, [a.user?.firstName, a.user?.lastName].filter(Boolean).join(' ')].filter(Boolean).join('; ');
    case 'invalid':
      return `${a.source} row ${a.row}: ${a.field}${a.value !== undefined ? ` ${fmt(a.value)}` : ''} ${a.reason}`;
    case 'conflict':
      return `${a.conflict}: ${a.reason}${a.rows ? ` (rows ${a.rows.map((r) => `${r.source}:${r.row}`).join(', ')})` : ''}`;
    default:
      return '';
  }
}

function fmt(v) {
  return v === null || v === undefined ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Text safe to print on a terminal: platform errors and source values are untrusted, so line
 * breaks become spaces, and control characters (escape sequences) and bidirectional overrides
 * become U+FFFD.
 */
export function printable(s) {
  return String(s ?? '')
    .replace(/[\t\n\r]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\uFFFD');
}

function clip(s, n) {
  s = printable(s);
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Rows under a header, every column but the last padded to its widest cell. */
function columns(head, rows) {
  const last = head.length - 1;
  // A loop, not Math.max(...cells): a realm's worth of rows would overflow the call stack.
  const widths = head.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i].length), h.length));
  const line = (r) => r.map((c, i) => (i < last ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

const WRITES = new Set(['create', 'update', 'link', 'reactivate', 'deactivate', 'delete']);

export function formatTable(plan) {
  // Every write of a held plan waits for an approval: its line says so.
  const heldMark = (a) => (plan.held && WRITES.has(a.action) && !a.withheld ? 'held; ' : '');
  const rows = plan.actions.map((a) => [a.action, clip(a.key, 24), clip(a.platformId, 24), printable(heldMark(a) + detail(a))]);
  const s = plan.summary;
  const counts = Object.entries(s).map(([k, v]) => `${k} ${v}`).join(', ');
  const tail = plan.held
    ? [`held: ${printable(plan.held.reason)}`, `approve with: --approve ${plan.held.fingerprint}`]
    : [`fingerprint: ${plan.fingerprint}`];
  return [...columns(['ACTION', 'KEY', 'PLATFORM ID', 'DETAIL'], rows), '', `summary: ${counts}`, ...tail, ''].join('\n');
}

/** A sync report's outcomes, one line each, then the counts. */
export function formatOutcomes(report) {
  const rows = report.outcomes.map((o) => {
    const why = o.state === 'failed' ? [o.status ? `HTTP ${o.status}` : '', o.error].filter(Boolean).join(' ') : o.reason;
    return [o.action, clip(o.key, 24), clip(o.platformId, 24), o.state, printable(why)];
  });
  const c = report.counts;
  return [...columns(['ACTION', 'KEY', 'PLATFORM ID', 'STATE', 'DETAIL'], rows), '', `counts: done ${c.done}, failed ${c.failed}, skipped ${c.skipped}`, ''].join('\n');
}
