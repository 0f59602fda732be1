// A Foundry simulator on loopback, after TARGET-APIS.md: OAuth2 client credentials, JSON:API
// user pages of at most 100, registration_sets to create and update, uniqueness of email and
// SSO ID (deactivated users included), and the organisation's rolling request window.
//
// Picks where the real API is unknown (each switchable):
// - `listsInactiveByDefault: false`: without filter[active], only active users are listed
//   (the pick a client must survive; `filter[active]=false` lists the inactive ones).
// - `uniquenessStatus: 422` for "has already been taken".
// - `rate.retryAfter: false`: 429s carry no Retry-After.
import { serve } from './common.js';

const ATTRS = ['email', 'first_name', 'last_name', 'sso_id', 'employee_id', 'student_id', 'location_id'];

function normaliseSeed(u, i) {
  const a = u.attributes ?? u;
  return {
    id: String(u.id ?? `fdy-seed-${i}`),
    attributes: {
      active: a.active ?? true,
      email: a.email ?? null,
      first_name: a.first_name ?? null,
      last_name: a.last_name ?? null,
      sso_id: a.sso_id ?? null,
      employee_id: a.employee_id ?? null,
      student_id: a.student_id ?? null,
      location_id: a.location_id ?? null,
      user_rule_set_roles: a.user_rule_set_roles ?? [{ rule_set: 'cc_learner', role: 'default' }],
      category_labels: a.category_labels ?? [],
      created_at: a.created_at ?? '2026-01-01T00:00:00Z',
      updated_at: a.updated_at ?? '2026-01-01T00:00:00Z',
      last_sign_in_at: a.last_sign_in_at ?? null,
    },
  };
}

const doc = (u) => ({ id: u.id, type: 'users', attributes: u.attributes, relationships: { category_labels: { data: [] } } });
const errors = (status, title, field) => ({ status, body: { errors: [{ title, ...(field ? { field_name: field } : {}) }] } });

/**
 * Starts the simulator. Options: `users` (Foundry user documents or attribute objects),
 * `clientId`, `clientSecret`, `tokenTtlSeconds` (7200), `rate` ({limit, windowMs, retryAfter};
 * default 200 per 60 s), `faults`, `seed`, `now`, `port`, `maxPerPage` (100),
 * `listsInactiveByDefault`, `uniquenessStatus`.
 */
export async function startFoundry(options = {}) {
  const {
    clientId = 'sim-client',
    clientSecret = 'sim-secret',
    tokenTtlSeconds = 7200,
    maxPerPage = 100,
    listsInactiveByDefault = false,
    uniquenessStatus = 422,
  } = options;
  let users = (options.users ?? []).map(normaliseSeed);
  const tokens = new Map();
  let nextId = 1;
  let nextToken = 1;

  const taken = (except, email, sso) => {
    for (const u of users) {
      if (u.id === except) continue;
      if (email && u.attributes.email && u.attributes.email.toLowerCase() === email.toLowerCase()) return 'email';
      if (sso && u.attributes.sso_id === sso) return 'sso_id';
    }
    return null;
  };

  const userRegistration = (body) => {
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { error: errors(400, 'body is not JSON') };
    }
    const regs = parsed?.data?.attributes?.registrations;
    if (!Array.isArray(regs)) return { error: errors(422, 'registrations is missing', 'registrations') };
    const user = regs.find((r) => r.rule_set === 'user_rule_set');
    if (!user) return { error: errors(422, 'a user_rule_set registration is required', 'registrations') };
    return { user, roles: regs.filter((r) => r.rule_set !== 'user_rule_set'), id: parsed.data.id };
  };

  // Users other clients add while a listing is under way (`faults.shift`), first in the list.
  let others = 0;
  const shift = () => {
    const first = users.findIndex((u) => u.id.startsWith('fdy-other-'));
    if (first >= 0 && others % 2 === 1) users.splice(first, 1);
    else users.unshift(normaliseSeed({ id: `fdy-other-${others}`, attributes: { email: `other-${others}@elsewhere.example`, first_name: 'Other', last_name: 'Client' } }));
    others += 1;
  };

  const handle = ({ method, path, query, headers, body, now, stats, faults }) => {
    if (method === 'POST' && path === '/oauth/token') {
      let p;
      try {
        p = (headers['content-type'] ?? '').includes('json') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
      } catch {
        p = {};
      }
      if (p.grant_type !== 'client_credentials' || p.client_id !== clientId || p.client_secret !== clientSecret) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
      }
      const token = `sim-token-${nextToken++}`;
      tokens.set(token, now + tokenTtlSeconds * 1000);
      return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: tokenTtlSeconds, created_at: Math.floor(now / 1000) } };
    }
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!bearer || !(tokens.get(bearer) > now)) return errors(401, 'Unauthorized');

    if (method === 'GET' && path === '/v1/admin/users') {
      if (faults?.hit('shift')) shift();
      const keyFilter = ATTRS.some((f) => query[`filter[${f}]`] !== undefined);
      const ignore = keyFilter && faults?.hit('ignoreFilter');
      let page = Math.max(1, Number(query['page[page]'] ?? 1) | 0);
      if (page > 1 && faults?.hit('repeatPage')) page = 1;
      const per = Math.min(maxPerPage, Math.max(1, Number(query['page[per_page]'] ?? 25) | 0));
      const active = query['filter[active]'];
      const list = users.filter((u) => {
        const a = u.attributes;
        if (active === undefined ? !listsInactiveByDefault && !a.active : String(a.active) !== active) return false;
        for (const f of ATTRS) {
          const want = ignore ? undefined : query[`filter[${f}]`];
          if (want !== undefined && (f === 'email' ? String(a[f]).toLowerCase() !== want.toLowerCase() : String(a[f]) !== want)) return false;
        }
        return true;
      });
      const last = Math.max(1, Math.ceil(list.length / per));
      const link = (n) => `/v1/admin/users?page[page]=${n}&page[per_page]=${per}`;
      return {
        status: 200,
        body: {
          data: list.slice((page - 1) * per, page * per).map(doc),
          links: { self: link(page), first: link(1), prev: page > 1 ? link(page - 1) : null, next: page < last ? link(page + 1) : null, last: link(last) },
          meta: { total_count: list.length },
        },
      };
    }
    if (method === 'POST' && path === '/v1/admin/registration_sets') {
      const r = userRegistration(body);
      if (r.error) return r.error;
      for (const f of ['first_name', 'last_name', 'email']) if (!r.user[f]) return errors(422, "can't be blank", f);
      if (!r.roles.some((x) => x.rule_set && x.role)) return errors(422, 'at least one role registration is required', 'registrations');
      const clash = taken(null, r.user.email, r.user.sso_id);
      if (clash) return errors(uniquenessStatus, 'has already been taken', clash);
      let id;
      do id = `fdy-n${nextId++}`; while (users.some((x) => x.id === id));
      const u = normaliseSeed({ id, attributes: { ...Object.fromEntries(ATTRS.map((f) => [f, r.user[f] ?? null])), active: true, user_rule_set_roles: r.roles.map(({ rule_set, role }) => ({ rule_set, role })) } });
      u.attributes.created_at = u.attributes.updated_at = new Date(now).toISOString();
      users.push(u);
      stats.created += 1;
      return { status: 201, body: { data: doc(u) }, write: true };
    }
    const m = /^\/v1\/admin\/registration_sets\/([^/]+)$/.exec(path);
    if (method === 'PATCH' && m) {
      const id = decodeURIComponent(m[1]);
      const u = users.find((x) => x.id === id);
      if (!u) return errors(404, 'Not found');
      const r = userRegistration(body);
      if (r.error) return r.error;
      const clash = taken(id, r.user.email, r.user.sso_id);
      if (clash) return errors(uniquenessStatus, 'has already been taken', clash);
      for (const f of ATTRS) if (f in r.user) u.attributes[f] = r.user[f];
      if ('active' in r.user) u.attributes.active = Boolean(r.user.active);
      u.attributes.updated_at = new Date(now).toISOString();
      stats.updated += 1;
      return { status: 200, body: { data: doc(u) }, write: true };
    }
    if (method === 'DELETE') return errors(405, 'Method Not Allowed');
    return errors(404, 'Not found');
  };

  const sim = await serve({ ...options, rate: options.rate ?? { limit: 200, windowMs: 60_000 } }, handle, () => users.map(doc));
  return {
    ...sim,
    users: () => structuredClone(users.map(doc)),
    reset: (list) => {
      users = list.map(normaliseSeed);
    },
  };
}
