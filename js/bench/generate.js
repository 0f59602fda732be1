// Benchmark data: N learners (CSV) and the platform's users as Foundry JSON:API pages of 100,
// with about 90% overlap, 5% of matched learners changed, 3% leavers and 5% orphans.
// Deterministic. Returns bytes, as a host gets them from fetch.

const enc = new TextEncoder();

export function generate(n) {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const csv = ['ssoId,employeeId,firstName,lastName,email,active'];
  const users = [];
  for (let i = 0; i < n; i++) {
    const leaver = rnd() < 0.03;
    const sso = String(1_000_000 + i);
    const first = `First${i % 997}`;
    const last = `Last${i % 1009}`;
    const email = `learner.${i}@example.org`;
    csv.push(`${sso},E${i},${first},${last},${email},${leaver ? 'false' : 'true'}`);
    if (rnd() < 0.9) {
      const changed = rnd() < 0.05;
      users.push(foundryUser(`fdy-${i}`, sso, `E${i}`, first, changed ? `${last}x` : last, email, true));
    }
  }
  const orphans = Math.round(n * 0.05);
  for (let j = 0; j < orphans; j++) users.push(foundryUser(`fdy-o${j}`, String(9_000_000 + j), `E-o${j}`, 'Former', `Staff${j}`, `former.${j}@example.org`, true));
  const pages = [];
  for (let p = 0; p * 100 < users.length; p++) {
    const last = (p + 1) * 100 >= users.length;
    const link = (k) => `https://api.fifoundry.net/v1/admin/users?page[page]=${k}&page[per_page]=100`;
    const body = { data: users.slice(p * 100, (p + 1) * 100), links: { self: link(p + 1), first: link(1), prev: p ? link(p) : null, next: last ? null : link(p + 2), last: link(Math.ceil(users.length / 100)) }, meta: { total_count: users.length } };
    pages.push(enc.encode(JSON.stringify(body)));
  }
  return { source: enc.encode(csv.join('\n') + '\n'), pages };
}

function foundryUser(id, sso, emp, first, last, email, active) {
  return {
    id,
    type: 'users',
    attributes: {
      active, email, first_name: first, last_name: last, sso_id: sso, employee_id: emp, student_id: null, location_id: null,
      user_rule_set_roles: [{ rule_set: 'cc_learner', role: 'default' }], category_labels: [],
      created_at: '2026-01-05T09:00:00.000Z', updated_at: '2026-03-01T12:00:00.000Z', last_sign_in_at: '2026-10-01T08:30:00.000Z',
    },
    relationships: { category_labels: { data: [] } },
  };
}
