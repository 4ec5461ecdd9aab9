// test/helpers/fakeEngineServer.ts (a stand-in inference server answering with the project's
// engine) in its own process, for the suites that run in plain Node or in the extension host
// and cannot import TypeScript: the UI suite (test/e2e/ui.mjs) and *.untrusted.js.
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * Starts the server on `modelFolder` (relative to the repository or absolute) and resolves
 * once it listens: { url, calls (filled as requests arrive: {method, path, body}), close() }.
 */
async function startFakeEngineProcess({ kind = 'vllm', modelFolder, name }) {
  const args = ['--import', 'tsx', 'test/helpers/fakeEngineServer.ts', '--kind', kind, '--model', modelFolder, ...(name ? ['--name', name] : [])];
  // In an Electron extension host, process.execPath is Electron: run it as Node.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  const calls = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (message.url) resolve(message.url);
        if (message.call) calls.push(message.call);
      }
    });
    child.on('exit', (code) => reject(new Error(`the stand-in server exited (${code}): ${stderr.trim()}`)));
  });
  return {
    url,
    calls,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        // Its stdin closing is its signal to stop.
        child.stdin.end();
      }),
  };
}

module.exports = { startFakeEngineProcess };
