// The main job of the README: a full sync of sample learners into the local Foundry simulator,
// through the CLI exactly as a user runs it, with progress and the final report.
// The simulator's window is scaled from 200 per minute to 200 per second, and the CLI is told
// the same (--rate 200/1s), so the demo takes seconds instead of minutes.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sample } from './sample.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}target/demo`;
const n = Number(process.env.DEMO_LEARNERS ?? 3000);

mkdirSync(OUT, { recursive: true });
const { csv, users } = sample(n);
writeFileSync(`${OUT}/learners.csv`, csv);
writeFileSync(`${OUT}/foundry-users.json`, JSON.stringify(users));
console.log(`Sample: ${n} learners in target/demo/learners.csv; ${users.length} users already on the simulated Foundry.`);

const sim = spawn(process.execPath, [`${ROOT}js/sim/serve.js`, 'foundry', '--users', `${OUT}/foundry-users.json`, '--rate', '200/1s'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  sim.on('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  createInterface({ input: sim.stdout }).once('line', (line) => resolve(JSON.parse(line).url));
});
console.log(`Foundry simulator listening on ${url} (200 requests per second).\n`);

const args = [
  `${ROOT}js/cli/learner-sync.js`, 'sync', '--platform', 'foundry', '--base-url', url,
  '--source', `${OUT}/learners.csv`, '--rate', '200/1s', '--report', `${OUT}/report.json`,
];
console.log(`$ FOUNDRY_CLIENT_ID=… FOUNDRY_CLIENT_SECRET=… learner-sync ${args.slice(1).join(' ').replace(ROOT, '')}\n`);
const code = await new Promise((resolve) => {
  const cli = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, FOUNDRY_CLIENT_ID: 'sim-client', FOUNDRY_CLIENT_SECRET: 'sim-secret' },
  });
  cli.on('exit', resolve);
});
sim.kill('SIGTERM');

const report = JSON.parse(readFileSync(`${OUT}/report.json`, 'utf8'));
const p = report.plan;
console.log(`\nPlanned: ${p.create} create, ${p.update} update, ${p.deactivate} deactivate, ${p.reactivate} reactivate, ${p.review} orphans for review, ${p.unchanged} unchanged, ${p.protected} protected.`);
console.log(`Full report: target/demo/report.json (exit code ${code}).`);
process.exitCode = code;
