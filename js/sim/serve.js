#!/usr/bin/env node
// Runs a simulator until stopped: node js/sim/serve.js foundry|learnifier [--port N]
// [--users FILE.json] [--rate 200/60s] [--faults JSON] [--seed N]. Prints {"url": ...}.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFoundry } from './foundry.js';
import { startLearnifier } from './learnifier.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    users: { type: 'string' },
    rate: { type: 'string' },
    faults: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'retry-after': { type: 'boolean' },
  },
});
const start = { foundry: startFoundry, learnifier: startLearnifier }[positionals[0]];
if (!start) {
  process.stderr.write('usage: node js/sim/serve.js foundry|learnifier [--port N] [--users FILE] [--rate N/Ws] [--faults JSON]\n');
  process.exit(2);
}
const options = { port: Number(values.port), seed: Number(values.seed) };
if (values.users) options.users = JSON.parse(readFileSync(values.users, 'utf8'));
if (values.faults) options.faults = JSON.parse(values.faults);
if (values.rate) {
  const m = /^(\d+)\/(\d+)(ms|s)$/.exec(values.rate);
  if (!m) throw new Error(`--rate must look like 200/60s`);
  options.rate = { limit: Number(m[1]), windowMs: Number(m[2]) * (m[3] === 's' ? 1000 : 1), retryAfter: Boolean(values['retry-after']) };
}
const sim = await start(options);
process.stdout.write(JSON.stringify({ url: sim.url }) + '\n');
const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
