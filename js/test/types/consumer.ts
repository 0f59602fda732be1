// Compiled with `tsc --noEmit --strict` by js/test/types.test.js: the published types must
// describe what a consumer writes.
import {
  Planner, plan, planToCsv, reportToCsv, sync, beginSync, stepSync, LearnerSyncError,
  type Plan, type Action, type PlanOptions, type SyncReport, type StepRequest, type StepAnswer, type StepResult,
  type TokenCache, type CachedToken, type SharedBudget, type BudgetGrant, SharedBudgetLedger,
} from 'learner-sync';

const options: PlanOptions = {
  platform: 'foundry',
  match: ['ssoId', 'email'],
  orphans: 'deactivate',
  mapping: { ssoId: 'Employee SSO', active: { column: 'Status', activeValues: ['Active'] } },
};

const planner = new Planner(options);
const stats = planner.addSource('ssoId\n1\n', { format: 'csv', label: 'hr.csv' });
const n: number = stats.records + stats.invalid;
planner.addTarget(new Uint8Array([91, 93]), { format: 'normalised' });
const p: Plan = planner.finish();
planner.free();

function describe(a: Action): string {
  switch (a.action) {
    case 'update':
      return `${a.platformId}: ${Object.keys(a.changes).join(', ')} ${a.changes.lastName?.to ?? ''}`;
    case 'create':
      return `create ${a.fields.email}`;
    case 'conflict':
      return `${a.conflict}: ${a.reason}`;
    case 'invalid':
      return `${a.source}:${a.row} ${a.field} ${a.reason}`;
    case 'deactivate':
      return `${a.platformId} ${a.changes.active.to} ${a.orphan ?? false}`;
    default:
      return a.action;
  }
}

const again: Plan = plan({ platform: 'scim' }, { sources: [{ page: 'ssoId\n1\n', label: 'x' }], targets: ['{"Resources":[]}'] });
console.log(n, p.actions.map(describe), again.summary.create, p.fingerprint.length);

const csv: string = planToCsv(p);
const fromText: string = planToCsv(JSON.stringify(again));
console.log(csv.split('\r\n').length, fromText.length);

try {
  new Planner({ platform: 'learnifier' });
} catch (e) {
  if (e instanceof LearnerSyncError && e.code === 'INVALID_OPTIONS') console.log(e.message);
}

async function run(): Promise<number> {
  const report: SyncReport = await sync(
    { platform: 'foundry', baseUrl: 'https://api.fifoundry.net', rate: { limit: 200, windowMs: 60000, share: 0.5 }, mode: 'delta', retry: { maxAttempts: 3 } },
    { sources: ['ssoId\n1\n'], onEvent: (e) => (e.type === 'progress' ? e.done : 0), timeoutMs: 5000 },
  );
  for (const o of report.outcomes) if (o.state === 'failed') console.log(o.status, o.error);
  const outcomes: string = reportToCsv(report);
  console.log(outcomes.length);
  return report.created.length + (report.error ? 1 : 0);
}
void run;

// A Worker-style invocation: a budget, a checkpoint carried in KV.
async function tick(kv: { get(k: string): Promise<string | null>; put(k: string, v: string): Promise<void> }): Promise<boolean> {
  const report = await sync(
    { platform: 'foundry', baseUrl: 'https://api.fifoundry.net', budget: { requests: 40, ms: 20_000 }, claimBatch: 10 },
    { sources: ['ssoId\n1\n'], checkpoint: (await kv.get('checkpoint')) ?? undefined, saveCheckpoint: (c) => kv.put('checkpoint', c) },
  );
  return report.finished || report.suspended === true || report.invocations > 1;
}
void tick;

// A low-code recipe: its own HTTP step, the state between steps.
async function recipe(send: (r: StepRequest) => Promise<StepAnswer>): Promise<number> {
  let step: StepResult = beginSync({ platform: 'scim', baseUrl: 'https://scim.example.com/v2', hostAuth: true }, { plan: again });
  while (!step.done) {
    const answers: StepAnswer[] = [];
    for (const r of step.requests) answers.push(await send(r));
    step = stepSync(step.state, answers, { now: step.wakeAt ?? Date.now(), baseUrl: 'https://scim.example.com/v2', hostAuth: true });
  }
  return step.report?.counts.done ?? 0;
}
void recipe;

// The same recipe signing with credentials, the token kept outside the state (a Map here; a
// secret store in a real recipe): each step is then a Promise.
const kept = new Map<string, CachedToken>();
const tokenCache: TokenCache = {
  get: () => kept.get('token'),
  set: async (token: CachedToken) => {
    kept.set('token', { value: token.value, expiresAt: token.expiresAt });
  },
};
async function cachedRecipe(send: (r: StepRequest) => Promise<StepAnswer>): Promise<number> {
  const credentials = { clientId: 'id', clientSecret: 'secret' };
  const baseUrl = 'https://api.fifoundry.net';
  let step: StepResult = await beginSync({ platform: 'foundry', baseUrl, credentials }, { sources: ['ssoId\n1\n'], tokenCache });
  while (!step.done) {
    const answers: StepAnswer[] = [];
    for (const r of step.requests) answers.push(await send(r));
    step = await stepSync(step.state, answers, { baseUrl, credentials, tokenCache, sources: ['ssoId\n1\n'] });
  }
  const report: SyncReport = await sync({ platform: 'foundry', baseUrl, credentials }, { sources: ['ssoId\n1\n'], tokenCache });
  return (step.report?.counts.done ?? 0) + report.counts.done;
}
void cachedRecipe;

// Two syncs of one organisation in one process, sharing its budget through one ledger.
const rate = { limit: 200, windowMs: 60_000 };
let ledgerText: string | undefined;
function budgetFor(who: string): SharedBudget {
  const withLedger = <T>(change: (l: ReturnType<typeof SharedBudgetLedger.read>['ledger']) => T): T => {
    const { ledger } = SharedBudgetLedger.read(ledgerText, Date.now(), rate);
    const out = change(ledger);
    ledgerText = JSON.stringify(ledger);
    return out;
  };
  return {
    acquire: async (ask): Promise<BudgetGrant> => withLedger((l) => SharedBudgetLedger.acquire(l, who, ask, Date.now(), rate)),
    release: (last) => withLedger((l) => SharedBudgetLedger.release(l, who, last, Date.now())),
  };
}
async function twoSyncs(): Promise<boolean> {
  const options = { platform: 'foundry' as const, baseUrl: 'https://api.fifoundry.net' };
  const [a, b] = await Promise.all([
    sync(options, { sources: ['ssoId\n1\n'], sharedBudget: budgetFor('nightly') }),
    sync(options, { sources: ['ssoId\n2\n'], sharedBudget: budgetFor('manual') }),
  ]);
  return [a, b].some((r) => r.suspended && r.error?.code === 'BUDGET_FAILED');
}
void twoSyncs;
