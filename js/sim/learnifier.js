// A Learnifier simulator on loopback, after TARGET-APIS.md: HTTP Basic, GET /users with
// limit/offset and X-More, POST /users -> 200 {userId}, PATCH /users/{id} -> 201, 409 on a
// duplicate primary email (compared without case), autoClearEmail, hardLock, DELETE, and
// GET /extuser?extid= (case-sensitive).
//
// Picks where the real API is unknown (each switchable):
// - `autoClearEmailIn: 'both'`: the flag is read from the query string or the body.
// - DELETE answers 204.
// - No rate limit unless `rate` is given.
import { randomUUID } from 'node:crypto';
import { serve } from './common.js';

const FIELDS = ['externalId', 'firstName', 'lastName', 'displayName', 'primaryEmail', 'homeOrg', 'locale', 'hardLock', 'locked'];

function normaliseSeed(u) {
  return {
    id: u.id ?? randomUUID(),
    externalId: u.externalId ?? null,
    firstName: u.firstName ?? null,
    lastName: u.lastName ?? null,
    displayName: u.displayName ?? [u.firstName, u.lastName].filter(Boolean).join(' '),
    primaryEmail: u.primaryEmail ?? null,
    homeOrg: u.homeOrg ?? null,
    locale: u.locale ?? 'en',
    hardLock: u.hardLock ?? false,
    locked: u.locked ?? false,
    backOfficeRoles: u.backOfficeRoles ?? [],
    clientRoles: u.clientRoles ?? [],
  };
}

const fail = (status, field, message) => ({ status, body: { code: status === 409 ? 'conflict' : 'invalid', field, message } });

/**
 * Starts the simulator. Options: `users`, `key`, `secret`, `rate`, `faults`, `seed`, `now`,
 * `port`, `defaultLimit` (5000), `autoClearEmailIn` ('query' | 'body' | 'both').
 */
export async function startLearnifier(options = {}) {
  const { key = 'sim-key', secret = 'sim-secret', defaultLimit = 5000, autoClearEmailIn = 'both' } = options;
  let users = (options.users ?? []).map(normaliseSeed);
  const expected = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  const holder = (email, except) => users.find((u) => u.id !== except && u.primaryEmail && email && u.primaryEmail.toLowerCase() === email.toLowerCase());

  const handle = ({ method, path, query, headers, body, stats }) => {
    if (headers.authorization !== expected) return fail(401, null, 'Unauthorized');
    let data = {};
    if (body) {
      try {
        data = JSON.parse(body);
      } catch {
        return fail(400, null, 'body is not JSON');
      }
    }
    if (method === 'GET' && path === '/users') {
      const limit = Math.max(1, Number(query.limit ?? defaultLimit) | 0);
      const offset = Math.max(0, Number(query.offset ?? 0) | 0);
      const page = users.slice(offset, offset + limit);
      const more = offset + page.length < users.length;
      return { status: 200, body: page, headers: { 'x-more': String(more), 'x-limit': String(limit), 'x-offset': String(offset), 'x-size': String(users.length) } };
    }
    if (method === 'GET' && path === '/extuser') {
      const u = users.find((x) => x.externalId === query.extid);
      return u ? { status: 200, body: u } : fail(404, 'extid', 'No user with that external id');
    }
    if (method === 'POST' && path === '/users') {
      if (!data.primaryEmail) return fail(400, 'primaryEmail', 'primaryEmail is required');
      if (holder(data.primaryEmail)) return fail(409, 'primaryEmail', 'A user with this email already exists');
      const u = normaliseSeed(Object.fromEntries(FIELDS.filter((f) => f in data).map((f) => [f, data[f]])));
      users.push(u);
      stats.created += 1;
      return { status: 200, body: { userId: u.id }, write: true };
    }
    const m = /^\/users\/([^/]+)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]);
      const u = users.find((x) => x.id === id);
      if (method === 'GET') return u ? { status: 200, body: u } : fail(404, 'userId', 'Not found');
      if (!u) return fail(404, 'userId', 'Not found');
      if (method === 'DELETE') {
        users = users.filter((x) => x !== u);
        stats.deleted += 1;
        return { status: 204, body: null, write: true };
      }
      if (method === 'PATCH') {
        const flag = (autoClearEmailIn !== 'body' && query.autoClearEmail === 'true') || (autoClearEmailIn !== 'query' && data.autoClearEmail === true);
        if ('primaryEmail' in data && data.primaryEmail) {
          const other = holder(data.primaryEmail, u.id);
          if (other && !flag) return fail(409, 'primaryEmail', 'Another user has this email');
          if (other) other.primaryEmail = null;
        }
        for (const f of FIELDS) {
          if (!(f in data)) continue;
          // A key sent empty is cleared; absent keys are kept.
          u[f] = data[f] === '' ? null : data[f];
        }
        stats.updated += 1;
        return { status: 201, body: null, write: true };
      }
    }
    return fail(404, null, 'Not found');
  };

  const sim = await serve(options, handle, () => users);
  return {
    ...sim,
    users: () => structuredClone(users),
    reset: (list) => {
      users = list.map(normaliseSeed);
    },
  };
}
