// What the preview's search box looks through, and how text is compared there: without case
// and without accents, so "garcia" finds "García" and "sodertalje" finds "Södertälje".

/** Text as the search compares it: decomposed (NFD), marks removed, lowercased. */
export function fold(s) {
  return String(s).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Every text value of an action (its key, IDs, the user's values, changes), folded. */
export function searchText(a) {
  const parts = [a.key, a.platformId, a.source, a.field, a.value, a.matchedBy];
  for (const values of [a.fields, a.user]) if (values) for (const v of Object.values(values)) if (typeof v === 'string') parts.push(v);
  if (a.changes) {
    for (const c of Object.values(a.changes)) {
      if (typeof c.from === 'string') parts.push(c.from);
      if (typeof c.to === 'string') parts.push(c.to);
    }
  }
  if (a.platformIds) parts.push(...a.platformIds);
  if (a.rows) for (const r of a.rows) parts.push(r.source);
  return fold(parts.filter((p) => p != null).join('\n'));
}
