// Runs test/integration (the @vscode/test-electron `run()` contract) inside code-server's
// real Node extension host: the workbench URL carries extensionDevelopmentPath and
// extensionTestsPath, and the workbench reports the exit code through
// window.codeAutomationExit (exposed with Playwright before navigating).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closePage } from './browser.mjs';
import { workbenchUrl } from './server.mjs';
import { log, repoRoot } from './util.mjs';

export async function runIntegrationSuite({ context, server, folder, extensionPath, resultsFile, timeout = 6 * 60_000 }) {
  const page = await context.newPage();
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationExit', (code, logs) => {
    resolveExit({ code, logs });
  });
  // The workbench's log and the page console (extension-host output is forwarded there) go
  // to a file in the run folder; results come from the JSON report, not from these logs.
  const consoleLog = fs.createWriteStream(path.join(path.dirname(resultsFile), 'integration-console.log'));
  await page.exposeFunction('codeAutomationLog', (level, message) => {
    consoleLog.write(`[workbench ${level}] ${message}\n`);
  });
  page.on('console', (msg) => consoleLog.write(`[console ${msg.type()}] ${msg.text()}\n`));
  page.on('pageerror', (err) => consoleLog.write(`[pageerror] ${err.stack || err}\n`));
  const url = workbenchUrl(server, {
    folder,
    extensionDevelopmentPath: extensionPath,
    extensionTestsPath: path.join(repoRoot, 'test', 'integration', 'index.js'),
  });
  log(`extension-host suite: ${url}`);
  const start = Date.now();
  await page.goto(url);
  let timer;
  const result = await Promise.race([
    exited,
    new Promise((r) => (timer = setTimeout(() => r({ code: 'timeout' }), timeout))),
  ]);
  clearTimeout(timer);
  const seconds = (Date.now() - start) / 1000;
  await page.screenshot({ path: path.join(path.dirname(resultsFile), 'integration-final.png') }).catch(() => {});
  await closePage(page);
  consoleLog.end();

  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {}
  if (report) {
    for (const r of report.results) {
      const mark = r.status === 'pass' ? 'ok  ' : r.status === 'skip' ? 'skip' : 'FAIL';
      console.log(`  ${mark} ${r.name} (${r.ms} ms)${r.status === 'skip' ? ` [${r.error}]` : ''}`);
      for (const n of r.notes ?? []) console.log(`         ${n}`);
      if (r.status === 'fail') console.log(`       ${r.error.split('\n').slice(0, 6).join('\n       ')}`);
    }
  }
  const passed = result.code === 0 && report && report.failed === 0;
  log(`extension-host suite: exit ${result.code}, ${report ? `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped` : 'no report written'} in ${seconds.toFixed(1)} s`);
  return {
    name: 'integration',
    passed: Boolean(passed),
    seconds,
    exitCode: result.code,
    report,
    error: passed ? undefined : result.code === 'timeout' ? `no exit code within ${timeout / 1000} s` : `exit code ${result.code}`,
  };
}
