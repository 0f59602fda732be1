// A test Worker: runs a sync inside workerd, through the package's workerd entry and workerd's
// own fetch, against whatever platform the test points it at (js/test/redirects.test.js).
//   POST /sync  {options, sources}      -> the report
//   POST /probe {url, method, body}     -> what workerd's fetch gives for redirect: 'manual'
import { sync } from '../../workerd.js';

export default {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const input = await request.json();
    if (path === '/probe') {
      const res = await fetch(input.url, {
        method: input.method ?? 'GET',
        headers: { authorization: 'Bearer probe-token' },
        body: input.body === undefined ? undefined : new TextEncoder().encode(input.body),
        redirect: 'manual',
      });
      return Response.json({ status: res.status, type: res.type, location: res.headers.get('location'), redirected: res.redirected });
    }
    try {
      return Response.json(await sync(input.options, { sources: input.sources }));
    } catch (e) {
      return Response.json({ thrown: { code: e.code, message: e.message } }, { status: 400 });
    }
  },
};
