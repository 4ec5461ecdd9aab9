// Extension-host suite: the real `vscode` API against the extension's contract.
'use strict';
const assert = require('assert');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');

test('the extension activates and returns the test API', async () => {
  const ext = h.extension();
  const api = await h.getApi();
  assert.ok(ext.isActive, 'extension is not active after activate()');
  for (const f of h.API_FUNCTIONS) assert.strictEqual(typeof api[f], 'function', `api.${f}`);
});

test('every contributed command is registered, and every registered command is contributed', async () => {
  await h.getApi();
  const registered = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('surprisalLens.'));
  const contributed = (h.extension().packageJSON.contributes?.commands ?? []).map((c) => c.command);
  assert.ok(contributed.length >= 7, `only ${contributed.length} commands contributed`);
  const missing = contributed.filter((c) => !registered.includes(c));
  assert.deepStrictEqual(missing, [], `commands contributed but not registered: ${missing.join(', ')}`);
  // …and the other way round, so the palette shows every command with the "Surprisal Lens" category.
  const notContributed = registered.filter((c) => !contributed.includes(c));
  assert.deepStrictEqual(notContributed, [], `commands registered but missing from contributes.commands: ${notContributed.join(', ')}`);
});

test('the default model loads and scores a file; the summary is self-consistent', async (t) => {
  const api = await h.getApi();
  const { doc } = await h.openFile('prose.md');
  const result = await api.scoreDocument(doc.uri);
  assert.strictEqual(result.version, doc.version, 'scoreDocument() result is for another document version');
  assert.ok(result.tokenCount > 10, `tokenCount ${result.tokenCount}`);
  const s = result.summary;
  t.log(`prose.md: ${result.tokenCount} tokens, mean ${s.meanSurprisal.toFixed(3)} bits, ppl ${s.perplexity.toFixed(2)}, ${s.bitsPerByte.toFixed(3)} bits/byte`);
  assert.ok(s.scoredTokens >= result.tokenCount - 1 && s.scoredTokens <= result.tokenCount, `scoredTokens ${s.scoredTokens} vs tokenCount ${result.tokenCount}`);
  assert.ok(Number.isFinite(s.meanSurprisal) && s.meanSurprisal > 0, `meanSurprisal ${s.meanSurprisal}`);
  assert.ok(Math.abs(s.perplexity - Math.pow(2, s.meanSurprisal)) <= 1e-6 * s.perplexity, `perplexity ${s.perplexity} != 2^${s.meanSurprisal}`);
  const bytes = Buffer.byteLength(doc.getText(), 'utf8');
  const bpb = (s.meanSurprisal * s.scoredTokens) / bytes;
  assert.ok(Math.abs(s.bitsPerByte - bpb) <= 1e-6 * bpb, `bitsPerByte ${s.bitsPerByte} != total bits / ${bytes} bytes = ${bpb}`);
  assert.strictEqual(api.lastScoredVersion(doc.uri), doc.version);
}, { timeout: 120_000 });

test('with modelPath set to the tiny model, scores match its PyTorch reference (summary and hover)', async (t) => {
  const ref = h.tinyReference();
  if (!ref) t.skip('models/tiny/reference.json is not in the extension folder (e.g. a VSIX install)');
  const api = await h.getApi();
  const config = vscode.workspace.getConfiguration('surprisalLens');
  const previous = config.inspect('modelPath')?.globalValue;
  const tiny = require('path').join(h.extension().extensionPath, 'models', 'tiny');
  const c = ref.cases.find((x) => x.name === 'ascii-english');
  const { doc } = await h.openUntitled(c.text);
  try {
    if (!h.usesTinyModel()) await config.update('modelPath', tiny, vscode.ConfigurationTarget.Global);
    // The model reloads on the settings change; results for the old model must not be reused.
    let result;
    await h.waitFor(async () => {
      result = await api.scoreDocument(doc.uri);
      return result.tokenCount === c.ids.length;
    }, { timeout: 60_000, interval: 500, message: `a score with the tiny model (${c.ids.length} tokens; last: ${result?.tokenCount})` });
    assert.strictEqual(result.summary.scoredTokens, c.ids.length, 'every token is scored after BOS');
    const meanBits = c.logprobs.reduce((a, lp) => a - lp, 0) / c.logprobs.length / Math.LN2;
    assert.ok(Math.abs(result.summary.meanSurprisal - meanBits) < 1e-3, `mean surprisal ${result.summary.meanSurprisal} bits, reference ${meanBits}`);

    // The first token ("H" after BOS): probability, ln p, rank and entropy from the reference.
    const text = await h.waitForHover(doc.uri, new vscode.Position(0, 0));
    const hv = h.assertHoverConsistent(text);
    const expectedPct = Math.exp(c.logprobs[0]) * 100;
    const tol = h.halfUlp(hv.probability.text) + 1e-6;
    assert.ok(Math.abs(hv.probability.value - expectedPct) <= tol, `hover probability ${hv.probability.value}% but reference ${expectedPct.toFixed(4)}%`);
    assert.ok(hv.logprob, 'the hover shows ln p');
    assert.ok(Math.abs(hv.logprob.value - c.logprobs[0]) <= 6e-4, `hover ln p = ${hv.logprob.value}, reference ${c.logprobs[0]}`);
    assert.strictEqual(hv.rank, c.ranks[0], `hover rank #${hv.rank}, reference #${c.ranks[0]}`);
    assert.ok(Math.abs(hv.entropy.value - c.entropies_bits[0]) <= h.halfUlp(hv.entropy.text) + 1e-3, `hover entropy ${hv.entropy.value}, reference ${c.entropies_bits[0]}`);
    t.log(`tiny model, first token: ${hv.probability.value}% rank #${hv.rank} entropy ${hv.entropy.value} bits (reference ${expectedPct.toFixed(3)}%, #${c.ranks[0]}, ${c.entropies_bits[0].toFixed(3)}); mean ${result.summary.meanSurprisal.toFixed(4)} bits (reference ${meanBits.toFixed(4)})`);
  } finally {
    await config.update('modelPath', previous, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
}, { timeout: 150_000 });

test('hovering a known word of a file returns probability, surprisal, rank, entropy and alternatives', async (t) => {
  await h.getApi();
  const { doc } = await h.openFile('prose.md');
  const offset = h.offsetOf(doc, 'fox') + 1; // inside the word
  const text = await h.waitForHover(doc.uri, doc.positionAt(offset));
  const hv = h.assertHoverConsistent(text);
  t.log(`"fox": ${hv.probability.value}%, ${hv.surprisal.value} bits, rank #${hv.rank}, entropy ${hv.entropy.value} bits, ${hv.alternatives.length} alternatives`);
  // Nothing but whitespace has no token hover: the end of a blank line.
  const blankLine = doc.getText().split('\n').findIndex((l) => l.trim() === '');
  assert.ok(blankLine >= 0, 'prose.md has a blank line');
  const other = await h.hoverText(doc.uri, new vscode.Position(blankLine, 0));
  // A hover there is allowed (newline tokens), but it must be well-formed too.
  if (/Top alternatives/.test(other)) h.assertHoverConsistent(other);
}, { timeout: 120_000 });

test('hover works in an untitled document and on TypeScript code', async (t) => {
  const api = await h.getApi();
  const { doc } = await h.openUntitled('An untitled note about rivers and bridges.\n');
  await api.scoreDocument(doc.uri);
  const hv = h.assertHoverConsistent(await h.waitForHover(doc.uri, doc.positionAt(h.offsetOf(doc, 'rivers') + 2)));
  t.log(`untitled "rivers": ${hv.probability.value}%`);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');

  const ts = await h.openFile('sample.ts');
  await api.scoreDocument(ts.doc.uri);
  const hts = h.assertHoverConsistent(await h.waitForHover(ts.doc.uri, ts.doc.positionAt(h.offsetOf(ts.doc, 'width') + 1)));
  t.log(`sample.ts "width": ${hts.probability.value}%`);
}, { timeout: 120_000 });

test('command Score Document scores the active editor', async () => {
  const api = await h.getApi();
  const { doc } = await h.openFile('prose.md');
  await vscode.commands.executeCommand('surprisalLens.scoreDocument');
  await api.whenIdle(doc.uri);
  assert.strictEqual(api.lastScoredVersion(doc.uri), doc.version, 'Score Document did not score the active document');
}, { timeout: 90_000 });

test('commands Next/Previous Surprising Token select surprising tokens in both directions', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  await api.scoreDocument(doc.uri);
  // Next selects the next surprising token; Previous after two Next must select the first again.
  const startOf = () => doc.offsetAt(editor.selection.start);
  const span = () => `${startOf()}-${doc.offsetAt(editor.selection.end)}`;
  editor.selection = new vscode.Selection(0, 0, 0, 0);
  await vscode.commands.executeCommand('surprisalLens.nextSurprising');
  const next = await h.waitFor(() => (startOf() > 0 ? startOf() : 0), { timeout: 10_000, message: 'Go to Next Surprising Token to move forward from the start' });
  assert.ok(!editor.selection.isEmpty, 'Go to Next Surprising Token should select the token');
  const first = span();
  await vscode.commands.executeCommand('surprisalLens.nextSurprising');
  await h.waitFor(() => startOf() > next, { timeout: 10_000, message: `a second Go to Next Surprising Token to move past ${first}` });
  const second = span();
  const secondStart = startOf();
  await vscode.commands.executeCommand('surprisalLens.previousSurprising');
  await h.waitFor(() => startOf() < secondStart, {
    timeout: 5_000,
    message: `Go to Previous Surprising Token to move back from the token selected at ${second} (selection stays ${span()})`,
  });
  assert.strictEqual(span(), first, 'Previous after two Next should select the first surprising token again');
  t.log(`surprising tokens at ${first}, ${second}`);
}, { timeout: 60_000 });

test('Show Next-Word Distribution lists ranked next words for the cursor, and inserting one edits the document', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  await api.scoreDocument(doc.uri);
  // The cursor after "jumps over the " (after a space: whole next words are listed).
  const offset = h.offsetOf(doc, 'jumps over the ') + 'jumps over the '.length;
  editor.selection = new vscode.Selection(doc.positionAt(offset), doc.positionAt(offset));
  await vscode.commands.executeCommand('surprisalLens.showNextWords');
  const tab = await h.waitFor(
    () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((tb) => tb.label === 'Next-Word Distribution'),
    { timeout: 20_000, message: 'a "Next-Word Distribution" tab' },
  );
  assert.ok(tab.input instanceof vscode.TabInputWebview, 'the Next-Word Distribution tab is not a webview');
  try {
    const shown = await h.waitFor(() => {
      const s = api.nextWordPanelSnapshot();
      return s && s.offset === offset && s.candidates.length > 0 ? s : undefined;
    }, { timeout: 30_000, message: 'the panel to list candidates for the cursor' });
    assert.strictEqual(shown.uri, doc.uri.toString());
    assert.strictEqual(shown.version, doc.version);
    assert.strictEqual(shown.mode, 'words');
    assert.ok(shown.contextTail.includes('over the'), `conditioned on ${JSON.stringify(shown.contextTail)}`);
    assert.ok(shown.candidates.length >= 5, `${shown.candidates.length} candidates`);
    const probs = shown.candidates.map((c) => c.prob);
    for (let i = 1; i < probs.length; i++) assert.ok(probs[i] <= probs[i - 1], `not ranked: ${probs.join(', ')}`);
    assert.ok(probs.every((p) => p > 0 && p <= 1), `probabilities ${probs.join(', ')}`);
    assert.ok(probs.reduce((a, b) => a + b, 0) <= 1 + 1e-6, 'the listed words are disjoint events: their probabilities sum to at most 1');
    assert.ok(Number.isFinite(shown.entropyBits) && shown.entropyBits > 0);
    for (const c of shown.candidates) assert.ok(/^\s?\S/.test(c.text), `a whole word after a space: ${JSON.stringify(c.text)}`);
    t.log(`after "jumps over the ": ${shown.candidates.slice(0, 5).map((c) => `${JSON.stringify(c.text)} ${(c.prob * 100).toFixed(1)}%`).join(', ')}`);

    // The heatmap key at the top of the panel follows the colour mode.
    assert.deepStrictEqual(shown.legend.entries.map((e) => e.label), ['0-3 bits', '3-6 bits', '6-9 bits', '9-12 bits', '12-15 bits', '15 bits and more']);
    assert.strictEqual(shown.legend.granularity, 'word', 'Markdown is coloured word by word');
    const config = vscode.workspace.getConfiguration('surprisalLens');
    await config.update('heatmap.colorMode', 'rank', vscode.ConfigurationTarget.Global);
    try {
      const rank = await h.waitFor(() => api.nextWordPanelSnapshot()?.legend?.mode === 'rank' && api.nextWordPanelSnapshot().legend, { timeout: 10_000, message: 'the legend in rank mode' });
      assert.deepStrictEqual(rank.entries.map((e) => e.label), ['top 10', 'ranks 11-100', 'ranks 101-1000', 'beyond rank 1000']);
    } finally {
      await config.update('heatmap.colorMode', undefined, vscode.ConfigurationTarget.Global);
    }

    const index = shown.candidates.findIndex((c) => c.completion !== '');
    assert.ok(index >= 0, 'no insertable candidate');
    const before = doc.getText();
    assert.ok(await api.insertNextWord(index), 'the insertion was refused');
    const inserted = shown.candidates[index].completion;
    assert.strictEqual(doc.getText(), before.slice(0, offset) + inserted + before.slice(offset));
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.window.tabGroups.close(tab);
  }
}, { timeout: 90_000 });

test('a document scored once for a hover is not re-scored on later edits while the heatmap is off', async () => {
  const api = await h.getApi();
  const { doc, editor } = await h.openUntitled('A short note about the policy of scoring.\n');
  if (api.isHeatmapEnabled()) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  await api.scoreDocument(doc.uri);
  const scored = doc.version;
  assert.ok(await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'Edited. ')));
  await h.sleep(1500); // several debounce periods
  await api.whenIdle(doc.uri);
  assert.strictEqual(api.lastScoredVersion(doc.uri), scored, 'the edit was re-scored although nothing shows the scores');
  // Turning the heatmap on brings the visible document up to date.
  await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  try {
    await h.waitFor(async () => {
      await api.whenIdle(doc.uri);
      return api.lastScoredVersion(doc.uri) === doc.version;
    }, { timeout: 30_000, message: 'the heatmap to score the edited version' });
  } finally {
    await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  }
}, { timeout: 90_000 });

test('toggling the heatmap decorates the tokens, toggling again clears them', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  const { tokenCount } = await api.scoreDocument(doc.uri);
  const initially = api.isHeatmapEnabled();
  const expectOn = async (on) => {
    assert.strictEqual(api.isHeatmapEnabled(), on, `isHeatmapEnabled() should be ${on}`);
    if (on) {
      const n = await h.waitFor(() => api.heatmapRangeCount(editor), { timeout: 20_000, message: 'heatmap ranges in the editor' });
      assert.ok(n <= tokenCount, `${n} heatmap ranges for ${tokenCount} tokens`);
      return n;
    }
    await h.waitFor(() => api.heatmapRangeCount(editor) === 0, { timeout: 20_000, message: 'heatmap ranges to clear' });
    return 0;
  };
  await expectOn(initially);
  await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  const a = await expectOn(!initially);
  await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  const b = await expectOn(initially);
  t.log(`heatmap initially ${initially ? 'on' : 'off'}; ranges ${initially ? b : a} of ${tokenCount} tokens`);
}, { timeout: 90_000 });

test('editing the document re-scores it (lastScoredVersion follows the edit)', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  await api.scoreDocument(doc.uri);
  const before = doc.version;
  assert.strictEqual(api.lastScoredVersion(doc.uri), before);
  const wasOn = api.isHeatmapEnabled();
  if (!wasOn) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  try {
    const ok = await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'An inserted sentence about fog. '));
    assert.ok(ok, 'edit was not applied');
    assert.ok(doc.version > before);
    const edited = doc.version;
    const start = Date.now();
    await h.waitFor(async () => {
      await api.whenIdle(doc.uri);
      return api.lastScoredVersion(doc.uri) === edited;
    }, { timeout: 30_000, message: `lastScoredVersion to reach ${edited} (is ${api.lastScoredVersion(doc.uri)})` });
    t.log(`re-scored version ${edited} after ${Date.now() - start} ms`);
    // The heatmap follows the new scores: the inserted words are decorated too.
    await h.waitFor(() => api.heatmapRangeCount(editor) > 0, { timeout: 10_000, message: 'heatmap ranges after the edit' });
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    if (!wasOn) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  }
  assert.strictEqual(doc.getText().startsWith('An inserted'), false, 'revert did not undo the edit');
  await api.whenIdle(doc.uri);
  await h.waitFor(() => api.lastScoredVersion(doc.uri) === doc.version, { timeout: 30_000, message: 'the reverted text to be re-scored' });
}, { timeout: 90_000 });

test('a burst of edits ends with the final version scored (no stale result applied)', async (t) => {
  const api = await h.getApi();
  const { doc, editor } = await h.openFile('prose.md');
  await api.scoreDocument(doc.uri);
  const wasOn = api.isHeatmapEnabled();
  if (!wasOn) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  try {
    const words = ' and then the wind rose over the hills'.split(/(?= )/);
    for (const w of words) {
      const end = doc.lineAt(doc.lineCount - 1).range.end;
      await editor.edit((e) => e.insert(end, w), { undoStopBefore: false, undoStopAfter: false });
      await h.sleep(20); // faster than any debounce
    }
    const final = doc.version;
    await h.waitFor(async () => {
      await api.whenIdle(doc.uri);
      return api.lastScoredVersion(doc.uri) === final;
    }, { timeout: 30_000, message: `lastScoredVersion to reach ${final} (is ${api.lastScoredVersion(doc.uri)})` });
    const { tokenCount, version } = await api.scoreDocument(doc.uri);
    assert.strictEqual(version, final);
    const ranges = await h.waitFor(() => api.heatmapRangeCount(editor), { timeout: 10_000, message: 'heatmap ranges' });
    assert.ok(ranges <= tokenCount, `${ranges} heatmap ranges but only ${tokenCount} tokens in the final text`);
    t.log(`${words.length} edits → version ${final}, ${tokenCount} tokens, ${ranges} heatmap ranges`);
  } finally {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    if (!wasOn) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  }
}, { timeout: 90_000 });

test('hover Markdown escapes document text (no live links, HTML or emphasis from the document)', async (t) => {
  const api = await h.getApi();
  const hostile = 'See [click](command:workbench.action.quit) and <img src=x onerror=alert(1)> then **bold** `code`\n';
  const { doc } = await h.openUntitled(hostile);
  await api.scoreDocument(doc.uri);
  const hovers = [];
  for (const needle of ['[click', 'command:', 'workbench', '<img', 'onerror', '**bold', '`code']) {
    const at = h.offsetOf(doc, needle);
    for (let i = 0; i < needle.length; i++) {
      const raw = (await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, doc.positionAt(at + i))) ?? [];
      for (const hv of raw) for (const c of hv.contents) hovers.push(c);
    }
  }
  assert.ok(hovers.length > 0, 'no hovers on the hostile text');
  for (const c of hovers) {
    const md = typeof c === 'string' ? c : c.value;
    assert.ok(!/\]\(command:workbench\.action\.quit/.test(md), `hover contains a live command link from the document: ${md}`);
    assert.ok(!/<img\b/i.test(md), `hover contains raw HTML from the document: ${md}`);
    // A token holding "**" put inside the hover's own **…** unescaped would give 3+ bare asterisks.
    assert.ok(!/(^|[^\\])\*{3,}/m.test(md), `hover contains unescaped asterisks from the document: ${md}`);
  }
  const trusted = hovers.filter((c) => c && c.isTrusted);
  t.log(`${hovers.length} hover parts checked (${trusted.length} trusted Markdown)`);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}, { timeout: 90_000 });
