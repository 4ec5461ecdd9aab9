// Helpers for the extension-host suite: the extension's test API, documents, hovers, and a
// parser for the hover text (the contract: "Probability **12.3%**", "Surprisal … bits",
// "Rank #n", "Entropy … bits", a "Top alternatives" section with percentages).
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

const EXTENSION_ID = 'surprisal-lens.surprisal-lens';
const COMMANDS = [
  'surprisalLens.scoreDocument',
  'surprisalLens.toggleHeatmap',
  'surprisalLens.showNextWords',
  'surprisalLens.nextSurprising',
  'surprisalLens.previousSurprising',
];
const API_FUNCTIONS = ['scoreDocument', 'isHeatmapEnabled', 'heatmapRangeCount', 'whenIdle', 'lastScoredVersion'];

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
      return /Probability/.test(text);
    },
    { timeout, interval: 500, message: `a Surprisal Lens hover at ${position.line}:${position.character} (last hover text: ${JSON.stringify(text)})` },
  );
  return text;
}

const NUM = '([0-9]+(?:\\.[0-9]+)?(?:e-?[0-9]+)?)';
/** Half a unit in the last displayed place, e.g. "12.3" → 0.05. */
function halfUlp(s) {
  const m = /\.([0-9]+)/.exec(s);
  return 0.5 * Math.pow(10, -(m ? m[1].length : 0));
}

/** Parses the hover Markdown into numbers; every field is null when absent. */
function parseHover(text) {
  const plain = text.replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1');
  const field = (label, unit) => {
    const m = new RegExp(`${label}[^0-9\\n]*?(<\\s*)?${NUM}\\s*${unit}`, 'i').exec(plain);
    return m ? { value: Number(m[2]), text: m[2], lessThan: Boolean(m[1]) } : null;
  };
  const rank = /Rank[^#\n]*#\s*([0-9][0-9,]*)/i.exec(plain);
  const altIndex = plain.search(/Top alternatives/i);
  const alternatives = [];
  if (altIndex >= 0) {
    const section = plain.slice(altIndex).split('\n').slice(1);
    for (const line of section) {
      const m = new RegExp(`${NUM}\\s*%`).exec(line);
      if (m) alternatives.push({ line: line.trim(), pct: Number(m[1]), text: m[1] });
    }
  }
  return {
    probability: field('Probability', '%'),
    surprisal: field('Surprisal', 'bits'),
    entropy: field('Entropy', 'bits'),
    rank: rank ? Number(rank[1].replace(/,/g, '')) : null,
    hasAlternativesSection: altIndex >= 0,
    alternatives,
  };
}

/** Checks a parsed hover for internal consistency; returns the parsed figures. */
function assertHoverConsistent(text) {
  const h = parseHover(text);
  assert.ok(h.probability, `hover lacks "Probability <n>%": ${text}`);
  assert.ok(h.surprisal, `hover lacks "Surprisal <n> bits": ${text}`);
  assert.ok(h.rank !== null, `hover lacks "Rank #<n>": ${text}`);
  assert.ok(h.entropy, `hover lacks "Entropy <n> bits": ${text}`);
  assert.ok(h.hasAlternativesSection, `hover lacks a "Top alternatives" section: ${text}`);
  assert.ok(h.alternatives.length >= 1, `"Top alternatives" lists no percentages: ${text}`);

  const p = h.probability.value;
  assert.ok(p >= 0 && p <= 100, `probability ${p}% out of range`);
  assert.ok(Number.isInteger(h.rank) && h.rank >= 1, `rank ${h.rank} is not a positive integer`);
  assert.ok(h.entropy.value >= 0 && h.entropy.value <= 32, `entropy ${h.entropy.value} bits out of range`);

  // Surprisal must be -log2(probability), within the rounding of both displayed figures.
  if (!h.probability.lessThan && p > 0) {
    const pu = halfUlp(h.probability.text);
    const lo = Math.max(p - pu, 1e-12) / 100;
    const hi = Math.min(p + pu, 100) / 100;
    const su = halfUlp(h.surprisal.text) + 1e-9;
    const s = h.surprisal.value;
    assert.ok(
      s >= -Math.log2(hi) - su && s <= -Math.log2(lo) + su,
      `surprisal ${s} bits is not -log2(${p}%) = ${(-Math.log2(p / 100)).toFixed(3)} bits`,
    );
  }
  // Alternatives: valid percentages, best first, not more than the whole distribution.
  const pcts = h.alternatives.map((a) => a.pct);
  let slack = 0;
  for (const a of h.alternatives) slack += halfUlp(a.text);
  for (const x of pcts) assert.ok(x >= 0 && x <= 100, `alternative percentage ${x} out of range`);
  for (let i = 1; i < pcts.length; i++) {
    assert.ok(pcts[i] <= pcts[i - 1] + 1e-9, `alternatives are not sorted by probability: ${pcts.join(', ')}`);
  }
  const sum = pcts.reduce((a, b) => a + b, 0);
  assert.ok(sum <= 100 + slack + 1e-9, `alternatives sum to ${sum}% > 100%`);
  // A token of rank n has at most n-1 candidates strictly more probable.
  const tol = halfUlp(h.probability.text) + Math.max(...h.alternatives.map((a) => halfUlp(a.text)));
  const better = pcts.filter((x) => x > p + tol).length;
  assert.ok(better <= h.rank - 1, `rank #${h.rank} but ${better} alternatives are more probable than ${p}%`);
  if (h.rank === 1) assert.ok(Math.abs(pcts[0] - p) <= tol + 1e-9 || h.probability.lessThan, `rank #1 token at ${p}% but the top alternative is ${pcts[0]}%`);
  return h;
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
  COMMANDS,
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
