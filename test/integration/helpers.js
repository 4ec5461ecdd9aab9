// Helpers for the extension-host suite: the extension's test API, documents, hovers, and a
// parser for the hover text (the contract: a headline "word · p% · b bits", "Rank #n", "Entropy … bits",
// a "Top alternatives" section with percentages, a "Token t · p% · b bits" line per token).
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const { parseHover, halfUlp, assertHoverConsistent } = require('./hoverFormat');

const EXTENSION_ID = 'surprisal-lens.surprisal-lens';
const API_FUNCTIONS = ['scoreDocument', 'isHeatmapEnabled', 'heatmapRangeCount', 'whenIdle', 'lastScoredVersion', 'killWorker', 'modelState'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, { timeout = 30_000, interval = 200, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(interval);
  }
}

function extension() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this extension host`);
  return ext;
}

let apiPromise;
/** Activates the extension (idempotent) and returns its test API, checked against the contract. */
function getApi() {
  apiPromise ??= (async () => {
    const api = await extension().activate();
    assert.ok(api && typeof api === 'object', 'activate() must return the test API object');
    const missing = API_FUNCTIONS.filter((f) => typeof api[f] !== 'function');
    assert.deepStrictEqual(missing, [], `test API lacks: ${missing.join(', ')}`);
    return api;
  })();
  return apiPromise;
}

/** The workspace folder's copy of a fixture file (test/e2e/workspace/). */
function workspaceUri(name) {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the integration suite needs a workspace folder (test/e2e/workspace copied by the runner)');
  return vscode.Uri.joinPath(folder.uri, name);
}

async function openFile(name, { column = vscode.ViewColumn.One } = {}) {
  const doc = await vscode.workspace.openTextDocument(workspaceUri(name));
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, preview: false });
  return { doc, editor };
}

async function openUntitled(content, language = 'plaintext') {
  const doc = await vscode.workspace.openTextDocument({ content, language });
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  return { doc, editor };
}

function hoverContentToString(c) {
  if (typeof c === 'string') return c;
  if (c && typeof c.value === 'string') return c.value; // MarkdownString or MarkedString {language,value}
  return String(c);
}

async function hoverText(uri, position) {
  const hovers = (await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, position)) ?? [];
  return hovers.flatMap((h) => h.contents.map(hoverContentToString)).join('\n');
}

/** Polls the hover provider until our hover appears (the first one waits for the model). */
async function waitForHover(uri, position, timeout = 90_000) {
  let text = '';
  await waitFor(
    async () => {
      text = await hoverText(uri, position);
      return /Top alternatives/.test(text);
    },
    { timeout, interval: 500, message: `a Surprisal Lens hover at ${position.line}:${position.character} (last hover text: ${JSON.stringify(text)})` },
  );
  return text;
}

/** Reference log-probs of the tiny model (models/tiny/reference.json), when the extension ships it. */
function tinyReference() {
  const file = path.join(extension().extensionPath, 'models', 'tiny', 'reference.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}

/** True when the extension will use the tiny model (no models/default and no model setting). */
function usesTinyModel() {
  const root = extension().extensionPath;
  if (fs.existsSync(path.join(root, 'models', 'default'))) return false;
  const config = vscode.workspace.getConfiguration('surprisalLens');
  for (const key of ['model', 'modelPath', 'modelFolder', 'modelDirectory']) {
    const v = config.get(key);
    if (typeof v === 'string' && v.trim() !== '') return false;
  }
  return fs.existsSync(path.join(root, 'models', 'tiny'));
}

function offsetOf(doc, needle, occurrence = 0) {
  const text = doc.getText();
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `"${needle}" not found in ${doc.uri.toString()}`);
  }
  return at;
}

async function closeAllEditors() {
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor').then(undefined, () => {});
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

module.exports = {
  EXTENSION_ID,
  API_FUNCTIONS,
  sleep,
  waitFor,
  extension,
  getApi,
  workspaceUri,
  openFile,
  openUntitled,
  hoverText,
  waitForHover,
  parseHover,
  halfUlp,
  assertHoverConsistent,
  tinyReference,
  usesTinyModel,
  offsetOf,
  closeAllEditors,
};
