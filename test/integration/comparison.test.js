// Extension host: Compare with Model. A second model (the tiny test model, or the default one
// when the tiny one is in use) scores the document too; the heatmap colours each word by the
// difference; the hover shows both models' bits side by side; Stop Comparing returns to one
// model; a second model that cannot load leaves the first one working.
'use strict';
const assert = require('assert');
const path = require('path');
const vscode = require('vscode');
const { test } = require('./harness');
const h = require('./helpers');

/** The difference step of core/comparison.ts (0 within 1 bit, then ±1, ±2, ±3 from 1, 3 and 6 bits). */
function differenceStep(bits) {
  if (Number.isNaN(bits)) return 0;
  const magnitude = [1, 3, 6].filter((edge) => Math.abs(bits) >= edge).length;
  return bits < 0 ? -magnitude : magnitude;
}

test('Compare with Model colours words by the difference and the hover shows both models', async (t) => {
  const api = await h.getApi();
  const root = h.extension().extensionPath;
  const second = path.join(root, 'models', h.usesTinyModel() ? 'default' : 'tiny');
  const { doc, editor } = await h.openFile('prose.md');
  await api.scoreDocument(doc.uri);
  const heatmapWasOn = api.isHeatmapEnabled();
  try {
    assert.strictEqual(await api.compareWithModel(second), true, 'the second model did not load');
    assert.strictEqual(api.isHeatmapEnabled(), true, 'comparing turns the heatmap on');
    assert.strictEqual(api.heatmapMode(), 'difference');
    const compared = await h.waitFor(() => api.comparedWords(doc.uri), { timeout: 90_000, message: 'both models to score prose.md' });
    const coloured = compared.difference.filter((d) => differenceStep(d) !== 0).length;
    assert.ok(coloured > 0, 'two different models disagree by a bit somewhere');
    await h.waitFor(() => api.heatmapRangeCount(editor) === coloured, { timeout: 20_000, message: `${coloured} difference decorations (now ${api.heatmapRangeCount(editor)})` });
    for (let u = 0; u < compared.count; u++) {
      if (!Number.isNaN(compared.difference[u])) assert.ok(Math.abs(compared.difference[u] - (compared.bitsB[u] - compared.bitsA[u])) < 1e-9);
    }
    t.log(`${compared.count} words, ${coloured} coloured; second model ${compared.secondBitsPerByte.toFixed(3)} bits/byte`);

    // The hover over "quick" shows the word's bits under both models and their difference.
    const hover = await h.waitForHover(doc.uri, doc.positionAt(h.offsetOf(doc, 'quick') + 2));
    const line = hover.split('\n').find((l) => l.startsWith('Compared: '));
    assert.ok(line, `no comparison line in ${JSON.stringify(hover)}`);
    const [a, b, d] = [...line.matchAll(/\*\*([+\u2212\u00B1]?[\d.]+) bits\*\*/g)].map((m) => Number(m[1].replace('\u2212', '-').replace('\u00B1', '')));
    const u = compared.bitsA.findIndex((x, i) => x.toFixed(2) === a.toFixed(2) && compared.bitsB[i].toFixed(2) === b.toFixed(2));
    assert.ok(u >= 0, `the hover's figures ${a} and ${b} are not a compared word's`);
    assert.ok(Math.abs(d - (b - a)) <= 0.011, `difference ${d} vs ${b} - ${a}`);
    assert.ok(!/^Heatmap: /m.test(hover), 'the surprisal step is not described while the colour is the difference');

    // Stop Comparing: one model again, coloured by surprisal, hover without the comparison.
    await vscode.commands.executeCommand('surprisalLens.stopComparing');
    assert.notStrictEqual(api.heatmapMode(), 'difference');
    assert.strictEqual(api.comparedWords(doc.uri), undefined);
    const single = await h.waitForHover(doc.uri, doc.positionAt(h.offsetOf(doc, 'quick') + 2));
    assert.ok(!single.includes('Compared'), 'the hover still compares');

    // A folder that is not a model: comparing does not start, the first model keeps working.
    assert.strictEqual(await api.compareWithModel(path.join(root, 'media')), false);
    assert.notStrictEqual(api.heatmapMode(), 'difference');
    assert.strictEqual(api.modelState().kind, 'ready');
    await h.waitForHover(doc.uri, doc.positionAt(h.offsetOf(doc, 'lazy') + 1));
  } finally {
    api.stopComparing();
    if (api.isHeatmapEnabled() !== heatmapWasOn) await vscode.commands.executeCommand('surprisalLens.toggleHeatmap');
  }
}, { timeout: 240_000 });
