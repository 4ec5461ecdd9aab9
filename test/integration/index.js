// Entry point with the `run()` contract of @vscode/test-electron (`extensionTestsPath`):
// the extension host requires this file and awaits run(); a rejection means failure.
// Used by test/e2e/run.mjs (code-server) and test/integration/runTestElectron.mjs (desktop).
'use strict';
const fs = require('fs');
const path = require('path');
const { runTests } = require('./harness');

exports.run = async function run() {
  // A window whose workspace is untrusted (run.mjs's second server) runs only the
  // *.untrusted.js files; every other window runs the *.test.js files.
  const untrusted = process.env.SURPRISAL_E2E_UNTRUSTED === '1';
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith(untrusted ? '.untrusted.js' : '.test.js'))
    .sort();
  for (const file of files) require(path.join(__dirname, file));
  const summary = await runTests({ grep: process.env.SURPRISAL_E2E_GREP });
  if (summary.total === 0) throw new Error('no integration tests selected');
  if (summary.failed > 0) throw new Error(`${summary.failed} of ${summary.total} integration test(s) failed`);
};
