// Extension-host suite for a window whose workspace is NOT trusted (run.mjs starts a second
// server with workspace trust on and the startup prompt off; index.js runs only *.untrusted.js
// files there). An inference server in the user settings must get no document text and no
// question may be asked: scoring fails at once with the refusal.
'use strict';
const assert = require('assert');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');
const { startFakeEngineProcess } = require('./fakeEngineProcess');

test('untrusted workspace: a configured inference server gets no document and no question is asked', async () => {
  assert.strictEqual(vscode.workspace.isTrusted, false, 'this window must have opened its workspace untrusted');
  const api = await h.getApi();
  const engine = await startFakeEngineProcess({ modelFolder: 'models/default' });
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
    await engine.close();
  }
});
