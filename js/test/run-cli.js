// The CLI run as a child process, as a user runs it: `{status, stdout, stderr}` once it has
// exited and its output is all read. Shared by the tests that run it alongside a simulator.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../cli/learner-sync.js', import.meta.url));

/** Runs `learner-sync ...args` with `env` added to this process's, in `cwd`. */
export function runCli(args, env, cwd) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
