// Two JS baselines, written the way integration script authors write this sync by hand.
// Both take the same bytes as the engine and produce a plan as JSON text, with the same
// decisions for the benchmark's data (no conflicts, no invalid rows, ASCII text).
import _ from 'lodash';

const dec = new TextDecoder();
const FIELDS = ['ssoId', 'employeeId', 'email', 'firstName', 'lastName'];

function readCsv(bytes) {
  const [head, ...lines] = dec.decode(bytes).trim().split('\n');
  const cols = head.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row = Object.fromEntries(cols.map((c, i) => [c, cells[i]?.trim() ?? '']));
    row.active = ['true', 't', 'yes', '1'].includes(String(row.active).toLowerCase());
    return row;
  });
}

function readUsers(pages) {
  return pages.flatMap((p) =>
    JSON.parse(dec.decode(p)).data.map((u) => ({
      id: u.id,
      ssoId: u.attributes.sso_id,
      employeeId: u.attributes.employee_id,
      email: u.attributes.email,
      firstName: u.attributes.first_name,
      lastName: u.attributes.last_name,
      active: u.attributes.active,
    })),
  );
}

/** lodash: keyBy to index, isEqual to compare, pickBy for the changes. */
export function lodashPlan(source, pages) {
  const learners = readCsv(source);
  const users = readUsers(pages);
  const byKey = _.keyBy(users, 'ssoId');
  const seen = new Set();
  const actions = [];
  const summary = { create: 0, update: 0, deactivate: 0, reactivate: 0, review: 0, unchanged: 0 };
  const norm = (x) => ({ ..._.pick(x, FIELDS), email: _.toLower(x.email) });
  for (const l of learners) {
    const u = byKey[l.ssoId];
    if (!u) {
      if (l.active) {
        actions.push({ action: 'create', key: l.ssoId, fields: { ..._.pick(l, FIELDS), active: true } });
        summary.create++;
      }
      continue;
    }
    seen.add(u.id);
    if (!l.active && u.active) {
      actions.push({ action: 'deactivate', key: l.ssoId, platformId: u.id, changes: { active: { from: true, to: false } } });
      summary.deactivate++;
    } else if (l.active && !_.isEqual(norm(l), norm(u))) {
      const changes = _.mapValues(_.pickBy(norm(l), (v, k) => !_.isEqual(v, norm(u)[k])), (v, k) => ({ from: u[k], to: l[k] }));
      actions.push({ action: 'update', key: l.ssoId, platformId: u.id, changes });
      summary.update++;
    } else summary.unchanged++;
  }
  for (const u of _.filter(users, (u) => !seen.has(u.id) && u.active)) {
    actions.push({ action: 'review', key: u.ssoId, platformId: u.id });
    summary.review++;
  }
  return { json: JSON.stringify({ actions: _.sortBy(actions, 'key'), summary }), summary };
}

/** A tight Map-based version after JSON.parse. */
export function mapPlan(source, pages) {
  const learners = readCsv(source);
  const byKey = new Map();
  for (const p of pages) {
    for (const u of JSON.parse(dec.decode(p)).data) byKey.set(u.attributes.sso_id, u);
  }
  const seen = new Set();
  const actions = [];
  const summary = { create: 0, update: 0, deactivate: 0, reactivate: 0, review: 0, unchanged: 0 };
  for (const l of learners) {
    const u = byKey.get(l.ssoId);
    if (u === undefined) {
      if (l.active) {
        actions.push({ action: 'create', key: l.ssoId, fields: { ssoId: l.ssoId, employeeId: l.employeeId, email: l.email, firstName: l.firstName, lastName: l.lastName, active: true } });
        summary.create++;
      }
      continue;
    }
    seen.add(u.id);
    const a = u.attributes;
    if (!l.active) {
      if (a.active) {
        actions.push({ action: 'deactivate', key: l.ssoId, platformId: u.id, changes: { active: { from: true, to: false } } });
        summary.deactivate++;
      } else summary.unchanged++;
      continue;
    }
    let changes = null;
    const diff = (name, from, to, same) => {
      if (!same) (changes ??= {})[name] = { from, to };
    };
    diff('employeeId', a.employee_id, l.employeeId, a.employee_id === l.employeeId);
    diff('email', a.email, l.email, a.email.toLowerCase() === l.email.toLowerCase());
    diff('firstName', a.first_name, l.firstName, a.first_name === l.firstName);
    diff('lastName', a.last_name, l.lastName, a.last_name === l.lastName);
    if (changes) {
      actions.push({ action: 'update', key: l.ssoId, platformId: u.id, changes });
      summary.update++;
    } else summary.unchanged++;
  }
  for (const u of byKey.values()) {
    if (!seen.has(u.id) && u.attributes.active) {
      actions.push({ action: 'review', key: u.attributes.sso_id, platformId: u.id });
      summary.review++;
    }
  }
  actions.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return { json: JSON.stringify({ actions, summary }), summary };
}
