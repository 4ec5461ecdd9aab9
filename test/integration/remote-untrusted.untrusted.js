// Extension-host suite for a window whose workspace is NOT trusted (run.mjs starts a second
// server with workspace trust on and the startup prompt off; index.js runs only *.untrusted.js
// files there). An inference server in the user settings must get no document text and no
// question may be asked: scoring fails at once with the refusal.
'use strict';
const assert = require('assert');
const { spawn } = require('child_process');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');

/** test/helpers/fakeEngineServer.ts (a stand-in vLLM server on the bundled model), in its own process. */
async function startEngine() {
  const root = h.extension().extensionPath;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/fakeEngineServer.ts', '--kind', 'vllm', '--model', 'models/default'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  const calls = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (message.url) resolve(message.url);
        if (message.call) calls.push(message.call);
      }
    });
    child.on('exit', (code) => reject(new Error(`the stand-in server exited (${code}): ${stderr.trim()}`)));
  });
  return { url, calls, close: () => child.stdin.end() };
}

test('untrusted workspace: a configured inference server gets no document and no question is asked', async () => {
  assert.strictEqual(vscode.workspace.isTrusted, false, 'this window must have opened its workspace untrusted');
  const api = await h.getApi();
  const engine = await startEngine();
  const config = () => vscode.workspace.getConfiguration('surprisalLens');
  try {
    // User settings (machine scope): what a person would set; a workspace cannot.
    await config().update('remote.url', engine.url, vscode.ConfigurationTarget.Global);
    await config().update('remote.api', 'openai-completions', vscode.ConfigurationTarget.Global);
    const { doc } = await h.openFile('prose.md');
    // A question would wait for an answer that never comes: the refusal must be immediate.
    const outcome = await Promise.race([
      api.scoreDocument(doc.uri).then(() => 'scored', (err) => err),
      h.sleep(30_000).then(() => 'no answer within 30 s (a question is waiting?)'),
    ]);
    assert.ok(outcome instanceof Error, `scoring in an untrusted workspace: ${outcome}`);
    assert.match(outcome.message, /not sent to 127\.0\.0\.1:\d+: not in an untrusted workspace/);
    const sent = engine.calls.filter((c) => JSON.stringify(c.body ?? {}).includes('quick brown'));
    assert.deepStrictEqual(sent, [], 'the document reached the server');
  } finally {
    await config().update('remote.url', undefined, vscode.ConfigurationTarget.Global);
    await config().update('remote.api', undefined, vscode.ConfigurationTarget.Global);
    engine.close();
  }
});
