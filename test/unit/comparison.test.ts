/**
 * Two models compared word by word: the tiny test model (byte-level BPE, 400 tokens) and the
 * bundled default model (another tokenizer) on the Unicode fuzz corpus. Both give the same
 * words; every scored token of each model counts for exactly one word (the one holding its
 * last non-space character) or, when it is only whitespace, for none; the difference is
 * second minus first; the diverging steps and the summary count what they say.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compareWords, DIFFERENCE_EDGES_BITS, differenceLegend, differenceStep, summariseComparison } from '../../src/core/comparison';
import { LanguageModel } from '../../src/core/engine';
import { wordRanges } from '../../src/core/heatUnits';
import type { DocumentScores } from '../../src/core/types';
import { hostileDocument } from '../helpers/fuzzText';
import { propertyRuns } from '../helpers/propertyRuns';
import { TINY_MODEL } from '../helpers/tokenizers';

const DEFAULT_MODEL = join(__dirname, '..', '..', 'models', 'default');

/** Independently of heatUnits: the surprisal each word should get, by the rule stated in the README. */
function expectedWordBits(text: string, scores: DocumentScores): { bits: number[]; unowned: number } {
  const { starts, ends } = wordRanges(text);
  const bits = new Array<number>(starts.length).fill(0);
  const owned = new Array<boolean>(starts.length).fill(false);
  let unowned = 0;
  let carried = 0;
  for (let i = 0; i < scores.tokenCount; i++) {
    const lp = scores.logprobs[i]!;
    const b = Number.isNaN(lp) ? NaN : -lp / Math.LN2;
    let last = scores.ends[i]! - 1;
    if (last < scores.starts[i]!) {
      carried += b; // part of a character: counted with the token completing it
      continue;
    }
    while (last >= scores.starts[i]! && /\s/.test(text.charAt(last))) last--;
    if (last < scores.starts[i]!) {
      unowned++;
      carried = 0;
      continue;
    }
    const word = Array.from(starts.keys()).find((u) => starts[u]! <= last && last < ends[u]!);
    assert.ok(word !== undefined, `token ${i} ends at ${last}, inside no word`);
    bits[word] += b + carried;
    owned[word] = true;
    carried = 0;
  }
  return { bits: bits.map((b, u) => (owned[u] ? b : NaN)), unowned };
}

const sameBits = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) < 1e-9;

describe('comparing two models word by word', { skip: !existsSync(join(DEFAULT_MODEL, 'config.json')) && 'models/default is not built' }, () => {
  let tiny: LanguageModel;
  let other: LanguageModel;
  before(async () => {
    tiny = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    other = await LanguageModel.load(DEFAULT_MODEL, { threads: 1 });
  });
  after(async () => {
    await tiny?.dispose();
    await other?.dispose();
  });

  it('the two tokenizers really differ on prose', async () => {
    const text = 'The committee postponed its decision until further notice.';
    const [a, b] = [await tiny.score(text, { topK: 1 }), await other.score(text, { topK: 1 })];
    assert.notDeepEqual(Array.from(a.ends), Array.from(b.ends));
  });

  it('fast-check: on the Unicode fuzz corpus every token of each model counts for exactly one word', async () => {
    await fc.assert(
      fc.asyncProperty(hostileDocument(20), async (text) => {
        const first = await tiny.score(text, { topK: 1 });
        const second = await other.score(text, { topK: 1 });
        const comparison = compareWords(text, first, second);
        const words = wordRanges(text);
        assert.deepEqual(Array.from(comparison.starts), Array.from(words.starts));
        assert.deepEqual(Array.from(comparison.ends), Array.from(words.ends));
        for (const [scores, bits] of [[first, comparison.bitsA], [second, comparison.bitsB]] as const) {
          const expected = expectedWordBits(text, scores);
          for (let u = 0; u < comparison.count; u++) {
            assert.ok(sameBits(bits[u]!, expected.bits[u]!), `word ${u} ${JSON.stringify(text.slice(comparison.starts[u], comparison.ends[u]))}: ${bits[u]} vs ${expected.bits[u]}`);
          }
          // Total accounting: the words' bits and the whitespace tokens' bits are every scored bit.
          let wordTotal = 0;
          for (let u = 0; u < comparison.count; u++) if (!Number.isNaN(bits[u]!)) wordTotal += bits[u]!;
          assert.ok(wordTotal <= scores.summary.totalBits + 1e-6, 'no token is counted twice');
        }
        for (let u = 0; u < comparison.count; u++) {
          const d = comparison.difference[u]!;
          assert.ok(sameBits(d, comparison.bitsB[u]! - comparison.bitsA[u]!));
        }
      }),
      { numRuns: propertyRuns(200), seed: 15 },
    );
  });

  it('the summary counts the words each model found harder, and both documents\' figures', async () => {
    const text = 'Colourless green ideas sleep furiously, said the linguist.';
    const first = await tiny.score(text, { topK: 1 });
    const second = await other.score(text, { topK: 1 });
    const comparison = compareWords(text, first, second);
    const summary = summariseComparison(comparison, first.summary, second.summary);
    let harder = 0;
    let easier = 0;
    let total = 0;
    let compared = 0;
    for (const d of comparison.difference) {
      if (Number.isNaN(d)) continue;
      compared++;
      total += d;
      if (d >= 1) harder++;
      if (d <= -1) easier++;
    }
    assert.equal(summary.words, wordRanges(text).starts.length);
    assert.equal(summary.comparedWords, compared);
    assert.equal(summary.harderForSecond, harder);
    assert.equal(summary.easierForSecond, easier);
    assert.ok(Math.abs(summary.totalDifferenceBits - total) < 1e-9);
    assert.equal(summary.second.bitsPerByte, second.summary.bitsPerByte);
    assert.ok(compared >= comparison.count - 1, 'all words but perhaps the first are scored by both');
  });
});

describe('the difference scale', () => {
  it('steps are symmetric, 0 within a bit either way, growing at 1, 3 and 6 bits', () => {
    assert.deepEqual(DIFFERENCE_EDGES_BITS, [1, 3, 6]);
    const cases: [number, number][] = [[0, 0], [0.99, 0], [1, 1], [2.9, 1], [3, 2], [5.99, 2], [6, 3], [40, 3], [-0.5, 0], [-1, -1], [-3.5, -2], [-100, -3], [NaN, 0], [Infinity, 3]];
    for (const [bits, step] of cases) assert.equal(differenceStep(bits), step, `${bits} bits`);
  });

  it('the legend lists every step from fewer to more, labelled', () => {
    const legend = differenceLegend();
    assert.deepEqual(legend.map((e) => e.step), [-3, -2, -1, 0, 1, 2, 3]);
    assert.equal(legend[0]!.label, 'second model: 6 or more bits fewer');
    assert.equal(legend[3]!.label, 'within 1 bit either way');
    assert.equal(legend[5]!.label, 'second model: 3-6 bits more');
  });

  it('scorings of different texts are refused', () => {
    const empty = { tokenCount: 0, ids: new Int32Array(), starts: new Int32Array(), ends: new Int32Array(), logprobs: new Float64Array(), ranks: new Int32Array() } as unknown as DocumentScores;
    assert.doesNotThrow(() => compareWords('', empty, empty));
    assert.throws(() => compareWords('a b', empty, empty, { count: 2 } as never, { count: 1 } as never), /not of the same text/);
  });
});
