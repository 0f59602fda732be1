// The CLI's shared budget: syncs of one organisation run from one machine (two cron jobs, a
// manual run beside the nightly one) share its rate budget through a small state file per base
// URL, the ledger of js/budget-ledger.js, behind a lock file. Given to sync() as
// `host.sharedBudget`.
//
//   <dir>/<sha256(base URL), 32 hex>.json        the ledger: grants, syncs present, the 429 state
//   <dir>/<…>.json.lock                          held while one process reads and writes it
//
// Nothing in either is a credential or the URL. The hostile cases, each handled here:
// - a ledger cut short, overwritten or malformed: moved aside to `….json.corrupt` (a warning on
//   stderr), and a fresh one grants nothing for a window and a second (the grants it held are
//   unknown);
// - a ledger of a newer format: refused, never overwritten (exit 2 before anything is sent);
// - a lock left by a killed process: broken when its pid is not running, or when it is older
//   than LOCK_STALE_MS (a lock is held for one read and one write), or dated in the future;
//   broken by renaming it aside and checking it is the one judged stale, so two processes
//   breaking it at once cannot both take the lock;
// - clock jumps: times are the machine's monotonic clock (shared by its processes, blind to
//   wall-clock changes); a ledger dated past it (a reboot) is brought back within it;
// - two processes creating the ledger at once: the lock is created exclusively (O_EXCL) and the
//   ledger written to a temporary file and renamed over.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { decide, leave, lostLedger, readLedger } from '../budget-ledger.js';

/** A state file larger than this is not read (a ledger of 100,000 grants is about 4 MB). */
const MAX_STATE_BYTES = 8 << 20;

/** A lock older than this was left behind: it is held for a read and a write. */
export const LOCK_STALE_MS = 5000;

/** How long to wait for the lock before giving up (the sync then stops with BUDGET_FAILED). */
const LOCK_TIMEOUT_MS = 15_000;

/** The machine's monotonic clock in ms: the same for every process on it, and wall-clock changes leave it alone. */
export const monotonicNow = () => Number(process.hrtime.bigint() / 1_000_000n);

/** Where the state files go: `--budget-dir`, else LEARNER_SYNC_BUDGET_DIR, else the user's cache folder. */
export function budgetDir(flag, env = process.env) {
  if (flag) return flag;
  if (env.LEARNER_SYNC_BUDGET_DIR) return env.LEARNER_SYNC_BUDGET_DIR;
  const cache = env.XDG_CACHE_HOME || (process.platform === 'win32' && env.LOCALAPPDATA) || join(homedir(), '.cache');
  return join(cache, 'learner-sync', 'budget');
}

/** The state file of a base URL in `dir`. */
export function budgetFile(dir, baseUrl) {
  return join(dir, `${createHash('sha256').update(baseUrl.replace(/\/+$/, '')).digest('hex').slice(0, 32)}.json`);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM'; // running, as another user
  }
};

const readText = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
};

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The shared budget of `baseUrl` in `dir` for a sync paced at `rate` ({limit, windowMs}).
 * `now` is the clock (the monotonic one; tests give their own), `warn` takes warnings.
 * `open()` checks the state file can be used before anything is sent (throws otherwise);
 * `acquire` and `release` are the `sharedBudget` hook of sync().
 */
export function fileBudget({ dir, baseUrl, rate, now = monotonicNow, warn = () => {}, lockTimeoutMs = LOCK_TIMEOUT_MS }) {
  const file = budgetFile(dir, baseUrl);
  const lock = `${file}.lock`;
  const id = randomBytes(8).toString('hex');
  const paced = { limit: rate.limit, windowMs: rate.windowMs };

  /** Whether the lock whose text is `text` was left behind. */
  const stale = (text, since) => {
    let held;
    try {
      held = JSON.parse(text);
    } catch {
      // Cut short, or being written this very moment: left behind once it stays so.
      return monotonicNow() - since > 100;
    }
    if (!Number.isInteger(held?.pid) || !Number.isFinite(held?.at)) return monotonicNow() - since > 100;
    if (held.pid !== process.pid && !alive(held.pid)) return true;
    const age = now() - held.at;
    return age > LOCK_STALE_MS || age < -LOCK_STALE_MS;
  };

  /** Breaks the lock judged stale from `judged`, unless another process took it meanwhile. */
  const breakLock = (judged) => {
    const aside = `${lock}.${id}.stale`;
    try {
      renameSync(lock, aside);
    } catch (e) {
      if (e.code === 'ENOENT') return; // released, or broken by another
      throw e;
    }
    if (readText(aside) !== judged) {
      // A fresh lock was taken between the judging and the renaming: put it back.
      try {
        linkSync(aside, lock);
      } catch {
        // Another lock exists already: that holder goes first; this one is lost to its owner,
        // who finds it so when it checks before writing.
      }
    }
    unlinkSync(aside);
  };

  const takeLock = async () => {
    // The waiting is timed on the machine's clock, whatever clock the ledger is given.
    const started = monotonicNow();
    let judging = { text: null, since: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(lock, JSON.stringify({ pid: process.pid, at: now(), id }), { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
      }
      const text = readText(lock);
      if (text !== null) {
        if (text !== judging.text) judging = { text, since: monotonicNow() };
        if (stale(text, judging.since)) {
          breakLock(text);
          continue;
        }
      }
      if (monotonicNow() - started > lockTimeoutMs) {
        throw new Error(`its lock ${lock} has been held by another process for more than ${Math.round(lockTimeoutMs / 1000)} s`);
      }
      await pause(1 + Math.min(attempt, 10) + Math.random() * 3);
    }
  };

  const ownsLock = () => {
    try {
      return JSON.parse(readText(lock) ?? 'null')?.id === id;
    } catch {
      return false;
    }
  };

  const dropLock = () => {
    if (ownsLock()) unlinkSync(lock);
  };

  /** Reads the ledger under the lock, lets `change` change it, and writes it back. */
  const withLedger = async (change) => {
    for (let tries = 1; ; tries++) {
      await takeLock();
      try {
        const t = now();
        const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
        const { ledger, lost } =
          size > MAX_STATE_BYTES ? lostLedger(t, paced, `larger than ${MAX_STATE_BYTES >> 20} MiB`) : readLedger(readText(file), t, paced);
        if (lost) {
          try {
            renameSync(file, `${file}.corrupt`);
          } catch {
            // Gone meanwhile: nothing to keep.
          }
          warn(`the shared budget's state file ${file} could not be read (${lost}): moved aside to ${file}.corrupt; no request goes for ${Math.ceil((paced.windowMs + 1000) / 1000)} s, since what it granted is unknown`);
        }
        const result = change(ledger, t);
        if (!ownsLock()) {
          // The lock was broken while it was held (this process stalled): do it again.
          if (tries >= 5) throw new Error(`its lock ${lock} was taken from this process ${tries} times`);
          continue;
        }
        const tmp = `${file}.${id}.tmp`;
        writeFileSync(tmp, JSON.stringify(ledger), { mode: 0o600 });
        renameSync(tmp, file);
        return result;
      } finally {
        dropLock();
      }
    }
  };

  const guard = (what) => (e) => {
    throw new Error(`the shared budget's state file ${file} ${what}: ${e.message}`);
  };

  return {
    file,
    /** Makes the folder and checks the state file can be read and written: throws otherwise. */
    async open() {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        guard('cannot be made')(e);
      }
      await withLedger(() => {}).catch(guard('cannot be used'));
    },
    acquire(ask) {
      return withLedger((ledger, t) => decide(ledger, id, ask, t, paced)).catch(guard('cannot be used'));
    },
    release(last) {
      return withLedger((ledger, t) => leave(ledger, id, last, t)).catch(guard('cannot be used'));
    },
  };
}
