// A minimal sequential test runner for the extension host (no mocha dependency): tests run
// in registration order, each with a timeout; results go to the console and, when the
// environment names a file (SURPRISAL_E2E_RESULTS, set by test/e2e/run.mjs on the server),
// to a JSON report there so the harness never depends on log forwarding.
'use strict';
const fs = require('fs');

const tests = [];

class Skip extends Error {}

/**
 * test(name, fn, { timeout }): fn receives { skip(reason), log(...) }.
 */
function test(name, fn, options = {}) {
  tests.push({ name, fn, timeout: options.timeout ?? 60_000 });
}

function withTimeout(promise, ms, name) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`test "${name}" timed out after ${ms} ms`)), ms);
    }),
  ]);
}

async function runTests({ grep } = {}) {
  const results = [];
  const selected = grep ? tests.filter((t) => new RegExp(grep, 'i').test(t.name)) : tests;
  console.log(`[integration] running ${selected.length} test(s)`);
  for (const t of selected) {
    const start = Date.now();
    const notes = [];
    const ctx = {
      skip(reason) {
        throw new Skip(reason);
      },
      log(...args) {
        notes.push(args.join(' '));
        console.log(`[integration]     ${args.join(' ')}`);
      },
    };
    let status = 'pass';
    let error;
    try {
      await withTimeout(Promise.resolve().then(() => t.fn(ctx)), t.timeout, t.name);
    } catch (err) {
      if (err instanceof Skip) {
        status = 'skip';
        error = err.message;
      } else {
        status = 'fail';
        error = (err && err.stack) || String(err);
      }
    }
    const ms = Date.now() - start;
    results.push({ name: t.name, status, ms, error, notes });
    const mark = status === 'pass' ? 'ok  ' : status === 'skip' ? 'skip' : 'FAIL';
    console.log(`[integration] ${mark} ${t.name} (${ms} ms)${status === 'skip' ? `: ${error}` : ''}`);
    if (status === 'fail') console.log(`[integration]      ${error.replace(/\n/g, '\n[integration]      ')}`);
  }
  const summary = {
    total: results.length,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    results,
  };
  console.log(`[integration] ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  const out = process.env.SURPRISAL_E2E_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify(summary, null, 2));
  return summary;
}

module.exports = { test, runTests };
