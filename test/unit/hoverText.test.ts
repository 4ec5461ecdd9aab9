import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bucketTokens, describeBucket, rankBucket, surprisalBin } from '../../src/core/colorBins';
import { LanguageModel } from '../../src/core/engine';
import { formatPercent } from '../../src/core/format';
import { escapeMarkdown, hoverMarkdown } from '../../src/core/hoverText';
import { findSurprising, tokenAt } from '../../src/core/tokenView';
import { TINY_MODEL } from '../helpers/tokenizers';

describe('hover Markdown', () => {
  let model: LanguageModel;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
  });
  after(() => model.dispose());

  it('escapes everything that came from the document or the model', async () => {
    const text = 'a <script>alert(1)</script> **bold** `code` [x](command:workbench.action.quit) | pipe';
    const scores = await model.score(text);
    for (let i = 0; i < scores.tokenCount; i++) {
      const md = hoverMarkdown(scores, i, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny*model', panelCommandUri: null });
      assert.ok(!/<script>/.test(md), 'no raw HTML');
      assert.ok(!/\]\(command:workbench/.test(md), 'no live command link from the text');
      assert.ok(!md.includes('tiny*model'), 'model name escaped');
      assert.match(md, /Probability \*\*[\d.e+-]+%\*\*/);
      assert.match(md, /Rank \*\*#\d+\*\*/);
      assert.match(md, /Entropy \*\*[\d.]+ bits\*\*/);
      assert.match(md, /\*\*Top alternatives\*\*/);
    }
  });

  it('marks the actual token and shows the word probability for multi-token words', async () => {
    const text = 'extraordinarily';
    const scores = await model.score(text);
    assert.ok(scores.tokenCount > 1);
    const md = hoverMarkdown(scores, 1, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny', panelCommandUri: 'command:surprisalLens.showNextWords?%5B%5D' });
    assert.match(md, /actual/);
    assert.match(md, new RegExp(`\\(${scores.tokenCount} tokens\\)`));
    assert.match(md, /\[Show next-word distribution here\]\(command:surprisalLens\.showNextWords/);
  });

  it('escapes Markdown punctuation', () => {
    assert.equal(escapeMarkdown('*a*'), '\\*a\\*');
    assert.equal(escapeMarkdown('<b>'), '\\<b\\>');
    assert.equal(escapeMarkdown('[x](y)'), '\\[x\\]\\(y\\)');
  });

  it('formats probabilities readably', () => {
    assert.equal(formatPercent(0.5), '50.0%');
    assert.equal(formatPercent(0.0123), '1.23%');
    assert.equal(formatPercent(0.0000123), '0.0012%');
    assert.match(formatPercent(1e-12), /e-10%$/);
  });

  it('finds the token under an offset, never an empty-range token', async () => {
    const text = 'x🦒y';
    const scores = await model.score(text);
    for (let offset = 0; offset < text.length; offset++) {
      const i = tokenAt(scores, offset)!;
      assert.ok(scores.starts[i]! <= offset && offset < scores.ends[i]!);
    }
    assert.equal(tokenAt(scores, text.length), undefined);
  });
});

describe('surprising-token navigation', () => {
  it('walks forward and back through tokens above the threshold, skipping the selected one', async () => {
    const model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    const scores = await model.score('The quick brown fox jumps over the lazy dog, again and again.');
    await model.dispose();
    const threshold = 8; // bits: the random tiny model is surprised by most tokens
    const surprising = Array.from(scores.ids.keys()).filter((i) => -scores.logprobs[i]! / Math.LN2 >= threshold && scores.starts[i]! < scores.ends[i]!);
    assert.ok(surprising.length >= 3);
    const [a, b] = [surprising[0]!, surprising[1]!];
    assert.equal(findSurprising(scores, 0, threshold, 1), a);
    assert.equal(findSurprising(scores, scores.ends[a]!, threshold, 1), b, 'Next from the end of the selected token');
    assert.equal(findSurprising(scores, scores.starts[b]!, threshold, -1), a, 'Previous from the start of the selected token');
    assert.equal(findSurprising(scores, scores.starts[a]!, threshold, -1), undefined);
    assert.equal(findSurprising(scores, 0, 1000, 1), undefined);
  });
});

describe('colour bins', () => {
  it('describes a bucket for the legend', () => {
    assert.equal(describeBucket(5, 3, { mode: 'surprisal', maxBits: 16 }), 'step 3 of 8 (4-6 bits)');
    assert.equal(describeBucket(20, 3, { mode: 'surprisal', maxBits: 16 }), 'step 8 of 8 (14 bits and more)');
    assert.equal(describeBucket(5, 50, { mode: 'rank', thresholds: [10, 100, 1000] }), 'rank bucket ranks 11-100');
  });
  it('bins surprisal into 8 steps with an open last step', () => {
    assert.equal(surprisalBin(0, 16), 0);
    assert.equal(surprisalBin(1.99, 16), 0);
    assert.equal(surprisalBin(2, 16), 1);
    assert.equal(surprisalBin(15.9, 16), 7);
    assert.equal(surprisalBin(100, 16), 7);
  });
  it('uses GLTR rank buckets with configurable thresholds', () => {
    assert.deepEqual([1, 10, 11, 100, 101, 1000, 1001].map((r) => rankBucket(r, [10, 100, 1000])), [0, 0, 1, 1, 2, 2, 3]);
    assert.deepEqual([1, 5, 6].map((r) => rankBucket(r, [1, 5, 50])), [0, 1, 2]);
  });
  it('puts every scored, non-empty token in exactly one bucket', async () => {
    const model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    const scores = await model.score('x🦒y and more text');
    await model.dispose();
    const buckets = bucketTokens(scores, { mode: 'surprisal', maxBits: 16 });
    const all = buckets.flat().sort((a, b) => a - b);
    const expected = Array.from(scores.ids.keys()).filter((i) => scores.starts[i]! < scores.ends[i]!);
    assert.deepEqual(all, expected);
  });
});
