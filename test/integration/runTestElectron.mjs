#!/usr/bin/env node
// The same extension-host suite (test/integration/index.js) on desktop VS Code through
// @vscode/test-electron, for a developer machine that can download VS Code (the machines
// this project's CI runs on cannot: there test/e2e/run.mjs runs the suite in code-server).
//
//   npm run build && node test/integration/runTestElectron.mjs [version ...]
//
// Versions default to the oldest supported (1.99.3, engines.vscode) and `stable`; also
// SURPRISAL_VSCODE_VERSIONS=1.99.3,insiders. VS Code is cached in .vscode-test/ (ignored).
// Everything else (workspace, user data, extensions) lives in a temp folder removed after.
import { runTests } from '@vscode/test-electron';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const args = process.argv.slice(2);
const versions = args.length ? args : (process.env.SURPRISAL_VSCODE_VERSIONS || '1.99.3,stable').split(',');

if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
  console.error('dist/extension.js is missing: run `npm run build` first');
  process.exit(1);
}

let failed = 0;
for (const version of versions) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'surprisal-electron-'));
  const workspace = path.join(tmp, 'workspace');
  fs.cpSync(path.join(repoRoot, 'test', 'e2e', 'workspace'), workspace, { recursive: true });
  const resultsFile = path.join(tmp, 'integration-results.json');
  console.log(`\n== VS Code ${version} ==`);
  try {
    await runTests({
      version,
      cachePath: path.join(repoRoot, '.vscode-test'),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(here, 'index.js'),
      extensionTestsEnv: {
        SURPRISAL_E2E_RESULTS: resultsFile,
        ...(process.env.SURPRISAL_E2E_GREP ? { SURPRISAL_E2E_GREP: process.env.SURPRISAL_E2E_GREP } : {}),
      },
      launchArgs: [
        workspace,
        '--user-data-dir', path.join(tmp, 'user-data'),
        '--extensions-dir', path.join(tmp, 'extensions'),
        '--disable-extensions', // other extensions; the one under development still loads
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--disable-gpu',
        '--no-sandbox',
      ],
    });
    console.log(`VS Code ${version}: pass`);
  } catch (err) {
    failed++;
    console.error(`VS Code ${version}: FAIL (${err?.message ?? err})`);
    if (fs.existsSync(resultsFile)) console.error(`  results: ${resultsFile} (kept)`);
    else fs.rmSync(tmp, { recursive: true, force: true });
    continue;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
