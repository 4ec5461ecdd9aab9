import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bucketTokens, describeBucket, rankBucket, surprisalBin } from '../../src/core/colorBins';
import { LanguageModel } from '../../src/core/engine';
import { formatPercent } from '../../src/core/format';
import { unitAt, wordUnits } from '../../src/core/heatUnits';
import { escapeMarkdown, HOVER_ALTERNATIVES, hoverMarkdown } from '../../src/core/hoverText';
import { compareWords } from '../../src/core/comparison';
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
      assert.match(md, /^Token \*\*.*\*\* \u00B7 \*\*[\d.e+-]+%\*\* \u00B7 \*\*[\d.]+ bits\*\* \u00B7 ln p = -?[\d.]+ \u00B7 \d+ of \d+ {2}$/m);
      assert.match(md, /Rank \*\*#\d+\*\*/);
      assert.match(md, /Entropy \*\*[\d.]+ bits\*\*/);
      assert.match(md, /\*\*Top alternatives\*\*/);
    }
  });

  it('leads with the word: its probability is the product of its tokens, then the prediction at its first token', async () => {
    const text = 'an extraordinarily long word';
    const scores = await model.score(text);
    const words = wordUnits(text, scores);
    const w = unitAt(words, text.indexOf('extraordinarily') + 3)!;
    assert.equal(text.slice(words.starts[w]!, words.ends[w]!), 'extraordinarily', 'the word, without the space before it');
    const [first, last] = [words.firstToken[w]!, words.lastToken[w]!];
    assert.ok(last > first, 'a word of several tokens in the tiny model');
    const md = hoverMarkdown(scores, last, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny', panelCommandUri: 'command:surprisalLens.showNextWords?%5B%5D', words });
    const lines = md.split('\n');
    let bits = 0;
    for (let i = first; i <= last; i++) bits -= scores.logprobs[i]! / Math.LN2;
    assert.equal(lines[0], `**extraordinarily** \u00B7 **${formatPercent(2 ** -bits)}** \u00B7 **${bits.toFixed(2)} bits**  `);
    assert.match(lines[1]!, new RegExp(`^Rank \\*\\*#${scores.ranks[first]}\\*\\* \u00B7 Entropy \\*\\*${scores.entropies[first]!.toFixed(2)} bits\\*\\* at `));
    assert.match(md, /actual/);
    assert.match(md, new RegExp(`word of ${last - first + 1} tokens`));
    const link = lines.findIndex((l) => l.startsWith('[Show next-word distribution here](command:surprisalLens.showNextWords'));
    // One token-detail line per token of the word (at most 6, then a count), after the link.
    const details = lines.filter((l) => l.startsWith('Token **'));
    assert.equal(details.length, Math.min(6, last - first + 1));
    if (last - first + 1 > 6) assert.ok(lines.includes(`Token \u2026 and ${last - first + 1 - 6} more tokens of this word  `));
    assert.ok(lines.indexOf(details[0]!) > link, 'token detail below the link');
    // The same word is found from any of its tokens.
    assert.equal(hoverMarkdown(scores, first, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny', panelCommandUri: null, words }).split('\n')[0], lines[0]);
  });

  it('lists at most five alternatives, plus the actual token when it is not among them', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const scores = await model.score(text, { topK: 10 });
    for (let i = 0; i < scores.tokenCount; i++) {
      const md = hoverMarkdown(scores, i, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny', panelCommandUri: null });
      const rows = md.split('\n').filter((l) => /^#\d+ /.test(l));
      const actualListed = scores.ranks[i]! <= HOVER_ALTERNATIVES;
      assert.equal(rows.length, actualListed ? HOVER_ALTERNATIVES : HOVER_ALTERNATIVES + 1, md);
      assert.equal(rows.filter((r) => r.includes('\u25C0 actual')).length, 1);
    }
  });

  it('says what a scoring server did not report (no alternatives, rank or entropy) instead of showing empty or NaN figures', async () => {
    const text = 'The quick brown fox';
    const local = await model.score(text);
    // As a TGI server's scores arrive: log-probs only (see src/core/remote).
    const remote = { ...local, topK: 0, topIds: new Int32Array(0), topProbs: new Float32Array(0), ranks: new Int32Array(local.tokenCount), entropies: new Float32Array(local.tokenCount).fill(NaN) };
    const md = hoverMarkdown(remote, 2, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tgi', panelCommandUri: null, words: wordUnits(text, remote) });
    assert.match(md, /^Rank not reported \u00B7 entropy not reported/m);
    assert.match(md, /^No alternatives: the scoring server does not report them/m);
    assert.doesNotMatch(md, /NaN|Top alternatives|#0/);
    assert.deepEqual(bucketTokens(remote, { mode: 'rank', thresholds: [10, 100, 1000] }).flat(), [], 'unknown ranks are not coloured as top 10');
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
    assert.equal(describeBucket(1, 3, { mode: 'surprisal', maxBits: 18 }), 'expected, 0-3 bits (uncoloured)');
    assert.equal(describeBucket(7, 3, { mode: 'surprisal', maxBits: 18 }), 'step 2 of 5 (6-9 bits)');
    assert.equal(describeBucket(20, 3, { mode: 'surprisal', maxBits: 18 }), 'step 5 of 5 (15 bits and more)');
    assert.equal(describeBucket(5, 50, { mode: 'rank', thresholds: [10, 100, 1000] }), 'rank bucket ranks 11-100');
    assert.equal(describeBucket(5, 2, { mode: 'rank', thresholds: [10, 100, 1000] }), 'rank bucket top 10 (uncoloured)');
  });
  it('bins surprisal into 6 steps with an open last step', () => {
    assert.equal(surprisalBin(0, 18), 0);
    assert.equal(surprisalBin(2.99, 18), 0);
    assert.equal(surprisalBin(3, 18), 1);
    assert.equal(surprisalBin(14.9, 18), 4);
    assert.equal(surprisalBin(15, 18), 5);
    assert.equal(surprisalBin(100, 18), 5);
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

describe('hover with two models compared', () => {
  let model: LanguageModel;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
  });
  after(() => model.dispose());

  it('shows both models\' bits for the hovered word and second minus first', async () => {
    const text = 'the quick brown fox';
    const scores = await model.score(text);
    const words = wordUnits(text, scores);
    // A second "model": the same tokens, each 2 bits more surprising (as if it were another model).
    const harder = { ...scores, logprobs: scores.logprobs.map((lp) => lp - 2 * Math.LN2) };
    const compared = compareWords(text, scores, harder);
    const w = unitAt(words, text.indexOf('brown'))!;
    const md = hoverMarkdown(scores, words.lastToken[w]!, { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'first', panelCommandUri: null, words, comparison: { secondModelName: 'second', words: compared } });
    const tokens = words.lastToken[w]! - words.firstToken[w]! + 1;
    const line = md.split('\n').find((l) => l.startsWith('Compared: '));
    assert.equal(line, `Compared: first **${words.bits[w]!.toFixed(2)} bits** \u00B7 second **${(words.bits[w]! + 2 * tokens).toFixed(2)} bits** \u00B7 second \u2212 first **+${(2 * tokens).toFixed(2)} bits**  `);
    // Without a comparison there is no such line.
    assert.ok(!hoverMarkdown(scores, words.lastToken[w]!, { text, tokenText: () => '', modelName: 'first', panelCommandUri: null, words }).includes('Compared'));
  });
});
