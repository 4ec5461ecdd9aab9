// Extension-host suite: "Download Model..." against a local stand-in for the Hugging Face Hub,
// ending with the downloaded model scoring a document. The stand-in answers as
// shared/MODEL-SOURCES.md documents (the unit tests' test/helpers/fakeHub.ts has the full one,
// with faults): the file list at /api/models/{repo}/revision/{rev}, small files with
// X-Repo-Commit and ETag, graphs as a 302 to a second "content host" with X-Linked-Size and
// X-Linked-Etag (sha256).
'use strict';
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');

const FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];
// The first catalogue entry, served with the tiny test model's files (one dtype, fp32).
const REPO = 'HuggingFaceTB/SmolLM2-135M-Instruct';
const FOLDER_NAME = 'HuggingFaceTB--SmolLM2-135M-Instruct--fp32';

async function startHub(modelFolder) {
  const commit = crypto.randomBytes(20).toString('hex');
  const files = new Map(FILES.map((f) => [f, fs.readFileSync(path.join(modelFolder, f))]));
  const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
  const requests = [];
  const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
  const content = http.createServer((req, res) => {
    requests.push({ server: 'content', url: req.url, headers: req.headers });
    const blob = [...files.values()].find((b) => req.url.startsWith(`/blobs/${sha256(b)}?`));
    if (!blob) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const headers = { 'content-length': String(blob.length - start), 'accept-ranges': 'bytes' };
    if (range) headers['content-range'] = `bytes ${start}-${blob.length - 1}/${blob.length}`;
    res.writeHead(range ? 206 : 200, headers).end(blob.subarray(start));
  });
  const contentOrigin = await listen(content);
  const hub = http.createServer((req, res) => {
    requests.push({ server: 'hub', url: req.url, headers: req.headers });
    if (req.url === `/api/models/${REPO}/revision/main` || req.url === `/api/models/${REPO}/revision/${commit}`) {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: REPO, sha: commit, siblings: FILES.map((rfilename) => ({ rfilename })) }));
    }
    const match = req.url.startsWith(`/${REPO}/resolve/`) ? /^\/[^/]+\/[^/]+\/resolve\/([^/]+)\/(.+)$/.exec(req.url) : null;
    const body = match && (match[1] === 'main' || match[1] === commit) ? files.get(decodeURIComponent(match[2])) : undefined;
    if (!body) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    if (match[2].endsWith('.onnx')) {
      const digest = sha256(body);
      return void res.writeHead(302, { location: `${contentOrigin}/blobs/${digest}?X-Amz-Signature=x`, 'x-repo-commit': commit, 'x-linked-size': String(body.length), 'x-linked-etag': `"${digest}"`, 'content-length': '0' }).end();
    }
    res.writeHead(200, { 'x-repo-commit': commit, etag: '"0000"', 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const endpoint = await listen(hub);
  return {
    endpoint,
    commit,
    requests,
    close: () => Promise.all([hub, content].map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); }))),
  };
}

test('Download Model...: the first catalogue entry, from the Hub endpoint, becomes the model in use and scores', async (t) => {
  const api = await h.getApi();
  const hub = await startHub(path.join(h.extension().extensionPath, 'models', 'tiny'));
  const config = () => vscode.workspace.getConfiguration('surprisalLens');
  const previousModel = config().inspect('modelPath')?.globalValue;
  try {
    await config().update('hub.endpoint', hub.endpoint, vscode.ConfigurationTarget.Global);
    // As a user would: the command's quick pick, its first item accepted (the repository has
    // one dtype, so no second pick).
    let settled = false;
    const running = vscode.commands.executeCommand('surprisalLens.downloadModel').finally(() => (settled = true));
    while (!settled) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await h.sleep(200);
    }
    const folder = await running;
    assert.ok(typeof folder === 'string', `the command returned ${folder}`);
    for (const file of FILES) assert.ok(fs.existsSync(path.join(folder, file)), file);
    assert.strictEqual(path.basename(folder), FOLDER_NAME);
    assert.strictEqual(config().inspect('modelPath')?.globalValue, folder, 'the download is the model in use');
    assert.ok(hub.requests.some((r) => r.server === 'content'), 'the graph came from the content host');

    const { doc } = await h.openFile('prose.md');
    const scored = await h.waitFor(async () => {
      const result = await api.scoreDocument(doc.uri);
      const state = api.modelState();
      return state.kind === 'ready' && state.name === FOLDER_NAME ? result : undefined;
    }, { timeout: 60_000, message: 'the downloaded model to score the document' });
    t.log(`scored ${scored.tokenCount} tokens with the downloaded model, perplexity ${scored.summary.perplexity.toFixed(1)}`);
    assert.ok(scored.tokenCount > 10);

    // Again: the same commit is already there, so nothing is fetched.
    const before = hub.requests.length;
    const again = await vscode.commands.executeCommand('surprisalLens.downloadModel', { repo: REPO, dtype: 'fp32' });
    assert.strictEqual(again, folder);
    assert.ok(hub.requests.slice(before).every((r) => r.server === 'hub' && (r.url.startsWith('/api/') || r.url.includes('/resolve/'))), 'only the file list and headers');
    assert.ok(!hub.requests.slice(before).some((r) => r.server === 'content'), 'no file fetched again');
  } finally {
    await config().update('modelPath', previousModel, vscode.ConfigurationTarget.Global);
    await config().update('hub.endpoint', undefined, vscode.ConfigurationTarget.Global);
    await hub.close();
  }
}, { timeout: 120_000 });
