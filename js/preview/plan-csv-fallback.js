// TEMPORARY stand-in for the package's planToCsv(plan), which is being added to the Rust core
// and js/core.js on another branch. The preview's worker loads this file only when the package
// does not export planToCsv. Delete this file (and the fallback line in plan-worker.js's toCsv)
// when planToCsv lands.

const cell = (v) => {
  const s = v == null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function planToCsv(plan) {
  const lines = ['action,key,platformId,source,row,changes,reason'];
  for (const a of plan.actions) {
    const changes = Object.entries(a.changes ?? {}).map(([f, c]) => `${f}: ${c.from ?? ''} -> ${c.to ?? ''}`).join('; ');
    lines.push([a.action, a.key, a.platformId, a.source, a.row, changes, a.reason].map(cell).join(','));
  }
  return lines.join('\n') + '\n';
}
