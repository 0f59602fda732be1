// Sample data for the demo: an HR export of `n` learners and the Foundry users that already
// exist, in the proportions a daily sync meets (about 90% already on the platform, 5% of those
// changed, 3% leavers, 5% orphans, a few returning learners). Deterministic for a seed.

const FIRST = ['Ada', 'Ben', 'Chloé', 'Dara', 'Eli', 'Fatima', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tomás'];
const LAST = ['Smith', 'Jones', 'García', 'Nguyen', 'Okafor', 'Müller', 'Rossi', 'Kowalski', 'Haddad', 'Sato', 'Björk', 'Dubois', 'Silva', 'Novak', 'Evans'];

function prng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const csvCell = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Returns `{csv, users}`: the source CSV text and Foundry-native users to seed the simulator. */
export function sample(n = 3000, seed = 7) {
  const rnd = prng(seed);
  const rows = ['ssoId,employeeId,firstName,lastName,email,active'];
  const users = [];
  const user = (id, sso, first, last, email, active, employeeId = null) => ({
    id,
    type: 'users',
    attributes: {
      active, email, first_name: first, last_name: last, sso_id: sso, employee_id: employeeId, student_id: null, location_id: null,
      user_rule_set_roles: [{ rule_set: 'cc_learner', role: 'default' }], category_labels: [],
      created_at: '2026-01-05T09:00:00Z', updated_at: '2026-01-05T09:00:00Z', last_sign_in_at: null,
    },
    relationships: { category_labels: { data: [] } },
  });
  for (let i = 0; i < n; i++) {
    const sso = String(100000 + i);
    const first = FIRST[Math.floor(rnd() * FIRST.length)];
    const last = LAST[Math.floor(rnd() * LAST.length)];
    const email = `${first}.${last}.${i}@example.org`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    const r = rnd();
    const leaver = r < 0.03;
    const onPlatform = rnd() < 0.9;
    rows.push([sso, `E${i}`, first, last, email, leaver ? 'false' : 'true'].map(csvCell).join(','));
    if (!onPlatform) continue;
    const changed = rnd() < 0.05;
    const returning = !leaver && rnd() < 0.005;
    users.push(user(`fdy-${i}`, sso, first, changed ? `${last}-Old` : last, email, !returning, `E${i}`));
  }
  const orphans = Math.round(n * 0.05);
  for (let j = 0; j < orphans; j++) {
    users.push(user(`fdy-o${j}`, String(900000 + j), 'Former', `Staff${j}`, `former.${j}@example.org`, true));
  }
  // An administrator the sync does not manage: never touched.
  users.push({ ...user('fdy-admin', null, 'Site', 'Admin', 'admin@example.org', true) });
  users.at(-1).attributes.user_rule_set_roles = [{ rule_set: 'cc_admin', role: 'default' }];
  return { csv: rows.join('\n') + '\n', users };
}
