// A hostile platform for the tests: an HTTP proxy on loopback in front of one of the project's
// simulators (js/sim/), which misbehaves the ways real platforms do on a bad day. One mode per
// misbehaviour, switchable while it runs (`setMode`), and a second server (`elsewhere`), on
// another origin, that records everything sent to it: what a client must never reach.
//
// Modes (each off unless set):
// - `redirect`: `{status: 307, to: 'elsewhere' | 'same', only?: RegExp}`: answer every request
//   (or those whose method and path match `only`, e.g. /^POST \/oauth/) with a redirect to the
//   same path on the other origin, or on this one.
// - `ignoreFilter`: forward list requests without their filter (`filter[...]`, `filter`,
//   `extid`): a lookup by key gets the first users of the listing.
// - `repeatPage`: every list request is answered with the first page, `links` and all.
// - `emptyPagesWithNext`: list pages come back empty, their `links.next` always set.
// - `fullPagesNoLinks`: list pages come back full (the first page), without `links` or `meta`.
// - `endlessBody`: list answers are `200` with a body that never ends (until the client goes).
// - `reflectSecret`: writes are refused (`400`) with an error that echoes the request's
//   `Authorization` header and body raw, URL-encoded, JSON-escaped, base64-encoded and cut
//   part-way; `reflectSecret: 'token'` refuses the token request the same way (its form body
//   holds the client secret, URL-encoded).
// - `retryAfter`: `{value, only?}`: answer `429` with this `Retry-After` (seconds or a date).
// - `tokenTtl`: seconds: token answers say `expires_in` this (0, 30…).
// - `token429`: the token endpoint answers `429` forever.
import { createServer } from 'node:http';
import { readBody } from '../sim/common.js';

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

const isList = (method, path) => method === 'GET' && /\/(users|Users)$/.test(path);
const isToken = (path) => path.endsWith('/oauth/token');
const isWrite = (method) => method !== 'GET';

/** Starts the proxy in front of `upstream` (a simulator's URL) with `mode`. */
export async function startHostile(upstream, mode = {}) {
  let current = { ...mode };
  const received = [];
  const elsewhere = createServer(async (req, res) => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: await readBody(req) });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":[]}');
  });
  const elsewhereUrl = await listen(elsewhere);
  const log = [];

  const proxy = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, 'http://proxy');
    const route = `${req.method} ${url.pathname}`;
    log.push({ method: req.method, url: req.url, at: Date.now() });
    const m = current;
    const again = url.pathname.startsWith('/__again');
    if (m.redirect && !again && (!m.redirect.only || m.redirect.only.test(route))) {
      // "same" redirects once, to /__again/…, which is then served: no loop.
      const target = m.redirect.to === 'same' ? `http://${req.headers.host}/__again${req.url}` : `${elsewhereUrl}${req.url}`;
      res.writeHead(m.redirect.status ?? 307, { location: target, 'content-length': 0 });
      return res.end();
    }
    const path = url.pathname.replace(/^\/__again/, '');
    if (m.token429 && isToken(path)) {
      res.writeHead(429, { 'content-type': 'application/json' });
      return res.end('{"errors":[{"title":"Too Many Requests"}]}');
    }
    if (m.retryAfter && (!m.retryAfter.only || m.retryAfter.only.test(route))) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(m.retryAfter.value) });
      return res.end('{"errors":[{"title":"Too Many Requests"}]}');
    }
    if (m.endlessBody && isList(req.method, path)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      const chunk = `${'{"id":"x","type":"users","attributes":{}},'.repeat(1000)}`;
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.destroy());
      return pump();
    }
    if (m.reflectSecret && isWrite(req.method) && (m.reflectSecret === 'token' || !isToken(path))) {
      const auth = req.headers.authorization ?? '';
      const sent = `${body}`;
      const cut = (text) => `${text.slice(0, Math.ceil(text.length * 0.6))}…`;
      const echo = [auth, sent, encodeURIComponent(auth), encodeURIComponent(sent), JSON.stringify(auth), JSON.stringify(sent), Buffer.from(auth).toString('base64'), cut(auth), cut(sent)].join(' | ');
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ title: `bad request from ${echo}` }], detail: `bad request from ${echo}`, message: `bad request from ${echo}` }));
    }
    const forward = new URL(`${path}${url.search}`, upstream);
    if (m.ignoreFilter && isList(req.method, path)) {
      for (const k of [...forward.searchParams.keys()]) if (k.startsWith('filter') || k === 'extid') forward.searchParams.delete(k);
    }
    if ((m.repeatPage || m.fullPagesNoLinks) && isList(req.method, path)) {
      forward.searchParams.set('page[page]', '1');
      forward.searchParams.set('startIndex', '1');
      forward.searchParams.set('offset', '0');
    }
    const headers = { ...req.headers };
    delete headers.host;
    delete headers['content-length'];
    const answer = await fetch(forward, { method: req.method, headers, body: req.method === 'GET' ? undefined : body, redirect: 'manual' });
    let text = await answer.text();
    const out = {};
    answer.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
    });
    if (isToken(path) && m.tokenTtl !== undefined && answer.ok) {
      text = JSON.stringify({ ...JSON.parse(text), expires_in: m.tokenTtl });
    }
    if (isList(req.method, path) && answer.ok) {
      const doc = JSON.parse(text);
      if (m.emptyPagesWithNext && doc && !Array.isArray(doc)) {
        if (Array.isArray(doc.data)) doc.data = [];
        if (Array.isArray(doc.Resources)) doc.Resources = [];
        doc.links = { ...(doc.links ?? {}), next: `${path}?page[page]=2` };
        out['x-more'] = 'true';
      }
      if (m.fullPagesNoLinks && doc && !Array.isArray(doc)) {
        delete doc.links;
        delete doc.meta;
      }
      text = JSON.stringify(doc);
    }
    res.writeHead(answer.status, out);
    res.end(text);
  });
  const url = await listen(proxy);
  return {
    url,
    /** Every request the proxy was sent: `{method, url, at}`. */
    log,
    /** The other origin and every request it received (headers and body included). */
    elsewhere: { url: elsewhereUrl, received },
    setMode: (next) => {
      current = { ...next };
    },
    close: async () => {
      await close(proxy);
      await close(elsewhere);
    },
  };
}
