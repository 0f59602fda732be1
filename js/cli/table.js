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

function clip(s, n) {
  s = String(s ?? '');
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export function formatTable(plan) {
  const rows = plan.actions.map((a) => [a.action, clip(a.key ?? '', 24), clip(a.platformId ?? '', 24), detail(a)]);
  const head = ['ACTION', 'KEY', 'PLATFORM ID', 'DETAIL'];
  const widths = [0, 1, 2].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  const s = plan.summary;
  const counts = Object.entries(s).map(([k, v]) => `${k} ${v}`).join(', ');
  return [line(head), ...rows.map(line), '', `summary: ${counts}`, `fingerprint: ${plan.fingerprint}`, ''].join('\n');
}
