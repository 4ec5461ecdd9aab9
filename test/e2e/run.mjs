#!/usr/bin/env node
// Real-editor tests: `npm run test:e2e [-- options]`.
//
// Installs (once, into .vscode-test/) a pinned code-server, builds the extension, starts a
// throwaway server on 127.0.0.1 whose every folder lives in a run folder under the OS temp
// dir, and runs
//   - the extension-host suite (test/integration, the @vscode/test-electron run() contract),
//     then its *.untrusted.js tests on a second server where the workspace is not trusted
//   - the UI suite (test/e2e/ui.mjs: Debian Chromium driven by playwright-core)
// then stops everything it started by process group. Exit code 0 only if every suite passed.
//
// Options (environment variables in brackets):
//   --newest          VS Code 1.139 (code-server 4.139.1 on Node 24) instead of 1.99 [SURPRISAL_E2E_VSCODE=newest]
//   --all-versions    run on both, oldest first                           [SURPRISAL_E2E_VSCODE=all]
//   --vsix            package this platform's VSIX (scripts/package.mjs), install it into a fresh server and run the UI suite against it
//   --ci              everything: both suites on the oldest and the newest VS Code, then the VSIX on the oldest
//   --suite=NAME      integration | ui | all (default all)                [SURPRISAL_E2E_SUITE]
//   --grep=REGEX      only tests whose name matches                      [SURPRISAL_E2E_GREP]
//   --no-build        skip `npm run build`
//   --keep            keep the run folder even when everything passed
//   --update-docs     after a full UI pass, replace docs/{hover,heatmap,panel,heatmap-dark,heatmap-light,heatmap-high-contrast,generation,difference,difference-hover}.png  [SURPRISAL_E2E_UPDATE_DOCS=1]
//                     (without it they are only written when missing)
//   --extension=DIR   extension folder to test (default: the repository root)
//   --install-only    install code-server (and Node) and stop
// Also: SURPRISAL_E2E_CHROMIUM (default /usr/bin/chromium), SURPRISAL_E2E_HEADED=1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchBrowser } from './lib/browser.mjs';
import { ensureCodeServer, ensureDebianPackages, TARGETS } from './lib/install.mjs';
import { runIntegrationSuite } from './lib/integration.mjs';
import { installVsix, isolatedEnv, makeRunDir, startServer, writeSettings } from './lib/server.mjs';
import { copyDir, killAllTracked, log, repoRoot, resultsRoot, rmrf, run, tail } from './lib/util.mjs';
import { runUiSuite } from './ui.mjs';

function parseArgs(argv) {
  const opts = {
    versions: (process.env.SURPRISAL_E2E_VSCODE || 'min').split(',').map((s) => s.trim()),
    suite: process.env.SURPRISAL_E2E_SUITE || 'all',
    grep: process.env.SURPRISAL_E2E_GREP || '',
    vsix: false,
    build: true,
    keep: false,
    installOnly: false,
    ci: false,
    updateDocs: process.env.SURPRISAL_E2E_UPDATE_DOCS === '1',
    extension: repoRoot,
  };
  for (const arg of argv) {
    const [key, value] = arg.split(/=(.*)/s);
    if (key === '--newest') opts.versions = ['newest'];
    else if (key === '--min' || key === '--oldest') opts.versions = ['min'];
    else if (key === '--all-versions') opts.versions = ['min', 'newest'];
    else if (key === '--vsix') opts.vsix = true;
    else if (key === '--ci') {
      opts.ci = true;
      opts.vsix = true;
      opts.versions = ['min', 'newest'];
    }
    else if (key === '--suite') opts.suite = value;
    else if (key === '--grep') opts.grep = value;
    else if (key === '--no-build') opts.build = false;
    else if (key === '--keep') opts.keep = true;
    else if (key === '--update-docs') opts.updateDocs = true;
    else if (key === '--install-only') opts.installOnly = true;
    else if (key === '--extension') opts.extension = path.resolve(value);
    else if (key === '--help' || key === '-h') {
      console.log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (see --help)`);
  }
  if (opts.versions.includes('all')) opts.versions = ['min', 'newest'];
  for (const v of opts.versions) if (!TARGETS[v]) throw new Error(`unknown VS Code target "${v}" (min, newest, all)`);
  if (!['all', 'integration', 'ui'].includes(opts.suite)) throw new Error(`unknown suite "${opts.suite}"`);
  if (opts.vsix && opts.suite === 'integration') throw new Error('--vsix runs the UI suite (the extension-host suite needs a development extension)');
  return opts;
}

async function build(opts) {
  if (!opts.build) return;
  log('npm run build');
  const res = await run('npm', ['run', 'build', '--silent'], { cwd: opts.extension, prefix: '  build| ' });
  if (res.code !== 0) throw new Error(`npm run build failed (exit ${res.code})`);
  const pkg = JSON.parse(fs.readFileSync(path.join(opts.extension, 'package.json'), 'utf8'));
  const main = path.join(opts.extension, pkg.main ?? 'dist/extension.js');
  if (!fs.existsSync(main)) throw new Error(`build did not produce ${main} (package.json "main")`);
}

/**
 * The VSIX for this machine's platform, made by the extension's scripts/package.mjs (what
 * `npm run package` runs: vsce on a staging copy, so the working tree's dist/ is left
 * alone) into the OS temp folder. The script checks the VSIX's entries (this platform's
 * ONNX Runtime files and no other platform's, the entry points, the model) and fails on a
 * wrong one; a VSIX over the size limit is still installed and tested (--warn-size), and
 * its size problem is printed in the summary.
 * Returns { file, dir, bytes, seconds, files, sizeWarning }.
 */
async function packageVsix(opts) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'surprisal-vsix-'));
  const file = path.join(outDir, 'surprisal-lens.vsix');
  const script = path.join(opts.extension, 'scripts', 'package.mjs');
  log(`packaging this platform's VSIX with ${path.relative(process.cwd(), script)} → ${file}`);
  const start = Date.now();
  const res = await run(process.execPath, [script, '--out', file, '--warn-size'], {
    cwd: opts.extension,
    prefix: '  package| ',
    quiet: true,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    timeout: 5 * 60_000,
  });
  if (res.code !== 0 || !fs.existsSync(file)) {
    throw new Error(`packaging failed (exit ${res.code}) on Node ${process.version}:\n${res.output.split('\n').slice(-25).join('\n')}`);
  }
  const bytes = fs.statSync(file).size;
  const summary = /Packaged: .*\(([0-9]+) files, ([^)]+)\)/.exec(res.output);
  const sizeWarning = /warning: (.* over the .* limit)/.exec(res.output)?.[1] ?? null;
  const seconds = (Date.now() - start) / 1000;
  log(`VSIX ${(bytes / 1e6).toFixed(2)} MB (${bytes} bytes${summary ? `, ${summary[1]} files` : ''}) in ${seconds.toFixed(1)} s${sizeWarning ? `; ${sizeWarning}` : ''}`);
  return { file, dir: outDir, bytes, seconds, files: summary ? Number(summary[1]) : null, sizeWarning };
}

function findFiles(dir, pattern, out = []) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, pattern, out);
    else if (pattern.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * test-results/<label>/ for this run's screenshots, emptied; when another run that is still
 * going owns it (engineers share a working tree), test-results/<label>-<pid>/ instead.
 */
function claimResultsDir(label) {
  const alive = (pid) => {
    try {
      return pid > 0 && pid !== process.pid && process.kill(pid, 0);
    } catch {
      return false;
    }
  };
  let dir = path.join(resultsRoot, label);
  let owner = 0;
  try {
    owner = Number(fs.readFileSync(path.join(dir, '.owner'), 'utf8'));
  } catch {}
  if (alive(owner)) dir = path.join(resultsRoot, `${label}-${process.pid}`);
  rmrf(dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '.owner'), String(process.pid));
  return dir;
}

/** One VS Code version: fresh run folder and server, then the suites. */
async function runOnTarget(target, opts, vsix) {
  const cs = await ensureCodeServer(target);
  const label = `${target.name}${vsix ? '-vsix' : ''}`;
  const runDir = makeRunDir(label);
  const shots = claimResultsDir(label);
  log(`run folder ${runDir}`);
  const outcome = { vsix: Boolean(vsix), target: target.name, vscode: cs.vscode, codeServer: cs.version, label, runDir, shots, suites: [] };
  const env = isolatedEnv(runDir, {
    SURPRISAL_E2E_RESULTS: path.join(runDir, 'integration-results.json'),
    ...(opts.grep ? { SURPRISAL_E2E_GREP: opts.grep } : {}),
  });
  const wsIntegration = path.join(runDir, 'ws-integration');
  const wsUi = path.join(runDir, 'ws-ui');
  for (const folder of [wsIntegration, wsUi]) copyDir(path.join(repoRoot, 'test', 'e2e', 'workspace'), folder);
  writeSettings(runDir, [wsIntegration, wsUi]);
  let server;
  let context;
  try {
    if (vsix) await installVsix(cs, runDir, vsix.file, env);
    server = await startServer(cs, runDir, { env });
    outcome.serverLog = server.logPath;
    context = await launchBrowser(runDir);
    if ((opts.suite === 'all' || opts.suite === 'integration') && !vsix) {
      const r = await runIntegrationSuite({ context, server, folder: wsIntegration, extensionPath: opts.extension, resultsFile: path.join(runDir, 'integration-results.json') });
      outcome.suites.push(r);
    }
    if (opts.suite === 'all' || opts.suite === 'ui') {
      const r = await runUiSuite({ context, server, runDir, folder: wsUi, extensionPath: vsix ? null : opts.extension, shots, grep: opts.grep, smoke: Boolean(vsix) });
      outcome.suites.push(r);
    }
  } catch (err) {
    outcome.suites.push({ name: 'harness', passed: false, error: err.stack || String(err) });
  } finally {
    if (context) await context.close().catch(() => {});
    if (server) await server.stop();
  }
  if ((opts.suite === 'all' || opts.suite === 'integration') && !vsix) outcome.suites.push(await runUntrustedSuite(cs, label, opts));
  outcome.passed = outcome.suites.length > 0 && outcome.suites.every((s) => s.passed);
  outcome.extensionHostLogs = [
    ...['integration-console.log', 'integration-results.json'].map((f) => path.join(runDir, f)).filter((f) => fs.existsSync(f)),
    ...findFiles(path.join(runDir, 'user-data', 'logs'), /exthost|remoteagent|Surprisal/i),
    ...findFiles(path.join(runDir, 'server-data'), /exthost|remoteagent/i),
  ];
  return outcome;
}

/**
 * The extension-host tests for a workspace that is not trusted (test/integration/*.untrusted.js):
 * their own server with workspace trust on and its startup question off, so the folder opens
 * in restricted mode as it does for a person who chose "Don't Trust".
 */
async function runUntrustedSuite(cs, label, opts) {
  const runDir = makeRunDir(`${label}-untrusted`);
  const env = isolatedEnv(runDir, {
    SURPRISAL_E2E_RESULTS: path.join(runDir, 'integration-results.json'),
    SURPRISAL_E2E_UNTRUSTED: '1',
    ...(opts.grep ? { SURPRISAL_E2E_GREP: opts.grep } : {}),
  });
  const folder = path.join(runDir, 'ws-untrusted');
  copyDir(path.join(repoRoot, 'test', 'e2e', 'workspace'), folder);
  writeSettings(runDir, [folder], { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' });
  let server;
  let context;
  let passed = false;
  try {
    server = await startServer(cs, runDir, { env, trustWorkspaces: true });
    context = await launchBrowser(runDir);
    const r = await runIntegrationSuite({ context, server, folder, extensionPath: opts.extension, resultsFile: path.join(runDir, 'integration-results.json') });
    passed = r.passed;
    return { ...r, name: 'integration (untrusted workspace)', error: r.passed ? undefined : `${r.error} (run folder kept: ${runDir})` };
  } catch (err) {
    return { name: 'integration (untrusted workspace)', passed: false, error: `${err.stack || err} (run folder kept: ${runDir})` };
  } finally {
    if (context) await context.close().catch(() => {});
    if (server) await server.stop();
    if (passed) rmrf(runDir);
  }
}

/** After a passing run, the step screenshots become the README's pictures in docs/. */
function updateDocs(outcome, force) {
  if (process.env.SURPRISAL_E2E_UPDATE_DOCS === '0') return;
  const docs = path.join(repoRoot, 'docs');
  const picks = {
    '02-hover.png': 'hover.png',
    '04-heatmap.png': 'heatmap.png',
    '05-panel.png': 'panel.png',
    '07-heatmap-dark.png': 'heatmap-dark.png',
    '08-heatmap-light.png': 'heatmap-light.png',
    '09-heatmap-high-contrast.png': 'heatmap-high-contrast.png',
    '10-generation.png': 'generation.png',
    '11-difference.png': 'difference.png',
    '12-difference-hover.png': 'difference-hover.png',
  };
  const copied = [];
  for (const [from, to] of Object.entries(picks)) {
    const src = path.join(outcome.shots, from);
    // Tracked files change only on request (--update-docs), so a test run leaves the tree clean.
    if (!fs.existsSync(src) || (!force && fs.existsSync(path.join(docs, to)))) continue;
    fs.mkdirSync(docs, { recursive: true });
    fs.copyFileSync(src, path.join(docs, to));
    copied.push(`docs/${to}`);
  }
  if (copied.length) console.log(`updated ${copied.join(', ')} (from VS Code ${outcome.vscode})`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  await ensureDebianPackages({ forInstall: false });
  if (opts.installOnly) {
    for (const v of opts.versions) {
      const cs = await ensureCodeServer(TARGETS[v]);
      log(`code-server ${cs.version} ready (${cs.root})`);
    }
    return 0;
  }
  // Install first (may take minutes), then build: the build is what changes between runs.
  for (const v of opts.versions) await ensureCodeServer(TARGETS[v]);
  // From here on nothing may hang: a watchdog stops everything that was started.
  const limit = Number(process.env.SURPRISAL_E2E_TIMEOUT_S || 900 * (opts.versions.length + (opts.vsix ? 1 : 0)));
  setTimeout(() => {
    console.error(`[e2e] overall time limit of ${limit} s reached (SURPRISAL_E2E_TIMEOUT_S): stopping everything`);
    killAllTracked();
    process.exit(1);
  }, limit * 1000).unref();
  await build(opts);

  const outcomes = [];
  // Development-extension runs (both suites), then the VSIX runs (UI suite on the installed package).
  const devVersions = opts.vsix && !opts.ci ? [] : opts.versions;
  for (const v of devVersions) outcomes.push(await runOnTarget(TARGETS[v], opts, null));
  let vsix = null;
  if (opts.vsix) {
    try {
      vsix = await packageVsix(opts);
      for (const v of opts.ci ? ['min'] : opts.versions) outcomes.push(await runOnTarget(TARGETS[v], opts, vsix));
    } catch (err) {
      outcomes.push({ vscode: '-', codeServer: '-', label: 'vsix', shots: path.join(resultsRoot, 'vsix'), suites: [{ name: 'package', passed: false, error: err.message }], passed: false, extensionHostLogs: [], vsix: true });
    } finally {
      if (vsix) rmrf(vsix.dir);
    }
  }

  console.log('\n==== real-editor tests ====');
  let ok = true;
  for (const o of outcomes) {
    console.log(`VS Code ${o.vscode} (code-server ${o.codeServer})${o.vsix ? ', extension installed from the VSIX' : ', development extension'}: ${o.passed ? 'PASS' : 'FAIL'}`);
    for (const s of o.suites) {
      console.log(`  ${s.passed ? 'pass' : 'FAIL'} ${s.name}${s.seconds ? ` (${s.seconds.toFixed(1)} s)` : ''}${s.error ? `: ${String(s.error).split('\n')[0]}` : ''}`);
      if (!s.passed && s.error && (s.name === 'harness' || s.name === 'package')) console.log(String(s.error).replace(/^/gm, '    '));
    }
    if (o.vsix && vsix) console.log(`  VSIX size: ${(vsix.bytes / 1e6).toFixed(2)} MB (${vsix.bytes} bytes)${vsix.sizeWarning ? `; warning: ${vsix.sizeWarning} (npm run package fails on it)` : ''}`);
    const pngs = findFiles(o.shots, /\.png$/);
    if (!o.passed) {
      ok = false;
      console.log(`  server log: ${o.serverLog ?? '(server not started)'}`);
      if (o.serverLog) console.log(tail(o.serverLog, 40).replace(/^/gm, '    | '));
      for (const f of o.extensionHostLogs) console.log(`  log: ${f}`);
      for (const f of pngs) console.log(`  screenshot: ${f}`);
      if (o.runDir) console.log(`  run folder kept: ${o.runDir}`);
    } else {
      console.log(`  screenshots: ${pngs.length ? path.relative(process.cwd(), o.shots) : 'none'}`);
      if (opts.keep) console.log(`  run folder kept: ${o.runDir}`);
      else rmrf(o.runDir);
    }
  }
  // The README's pictures come from a full UI run of this repository's extension on the
  // oldest target whose every step passed (they show verified behaviour even if another suite failed).
  const devOutcome = outcomes.find((o) => !o.vsix);
  const uiPassed = devOutcome?.suites.some((s) => s.name === 'ui' && s.passed);
  if (uiPassed && !opts.grep && opts.suite !== 'integration' && opts.extension === repoRoot) updateDocs(devOutcome, opts.updateDocs);
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[e2e] ${err.stack || err}`);
    process.exit(1);
  },
);
