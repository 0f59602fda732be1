// A test Worker: plans the pages it is sent, inside workerd, through the package's workerd entry.
import { Planner } from '../../workerd.js';

export default {
  async fetch(request) {
    const { source, target, options } = await request.json();
    try {
      const planner = new Planner(options ?? { platform: 'foundry' });
      planner.addSource(source, { label: 'source.csv' });
      planner.addTarget(target, { label: 'foundry-users.json' });
      const json = planner.finishJson();
      planner.free();
      return new Response(json, { headers: { 'content-type': 'application/json' } });
    } catch (e) {
      return Response.json({ code: e.code, message: e.message, name: e.name }, { status: 400 });
    }
  },
};
