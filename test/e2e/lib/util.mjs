// Small helpers shared by the e2e harness: paths, logging, child processes, polling.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import * as fs from 'node:fs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// Where code-server, Node and npm's cache are installed (SURPRISAL_E2E_CACHE to move it, e.g. for a CI cache).
export const cacheRoot = process.env.SURPRISAL_E2E_CACHE ? path.resolve(process.env.SURPRISAL_E2E_CACHE) : path.join(repoRoot, '.vscode-test');
export const resultsRoot = path.join(repoRoot, 'test-results');

const t0 = Date.now();
export function elapsed() {
  return `${((Date.now() - t0) / 1000).toFixed(1)}s`;
}
export function log(...args) {
  console.log(`[e2e ${elapsed()}]`, ...args);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws `message` (with the last error) on timeout. */
export async function waitFor(fn, { timeout = 30_000, interval = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}` + (lastError ? `: ${lastError.message ?? lastError}` : ''));
    }
    await sleep(interval);
  }
}

/**
 * Runs a command to completion. Output is streamed with a prefix unless `quiet`, and always
 * collected. The child gets its own process group so that a timeout kills all of it.
 */
export function run(cmd, args, { cwd = repoRoot, env = process.env, quiet = false, timeout = 0, prefix = '' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track(child);
    let out = '';
    const onData = (chunk) => {
      const text = chunk.toString();
      out += text;
      if (!quiet) process.stdout.write(prefix ? text.replace(/^(?=.)/gm, prefix) : text);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timer;
    if (timeout) timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrack(child);
      resolve({ code: code ?? (signal ? 128 : 1), signal, output: out });
    });
  });
}

// Every process group we start is tracked so that an interrupted run still stops them all.
const groups = new Set();
export function track(child) {
  if (child.pid) groups.add(child.pid);
}
export function untrack(child) {
  groups.delete(child.pid);
}
export function killGroup(pid, signal = 'SIGTERM') {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
export function killAllTracked() {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}
process.on('exit', killAllTracked);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`[e2e] ${sig}: stopping everything that was started`);
    killAllTracked();
    process.exit(130);
  });
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

export function copyDir(src, dest) {
  fs.cpSync(src, dest, { recursive: true });
}

export function tail(file, lines = 60) {
  try {
    const text = fs.readFileSync(file, 'utf8').split('\n');
    return text.slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read ${file}: ${err.message})`;
  }
}
