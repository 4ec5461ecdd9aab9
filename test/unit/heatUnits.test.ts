/**
 * Word-level heatmap units: words and symbol runs tile the non-space text exactly (no
 * leading space, no whitespace-only unit, indentation untouched), each a maximal run of
 * its class, on hand-picked text and on the fuzz corpus; a unit's surprisal is the sum of
 * the tokens whose last non-space character it holds, so nothing is counted twice or lost.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { tokenUnits, unitAt, wordRanges, wordUnits } from '../../src/core/heatUnits';
import { hostileDocument } from '../helpers/fuzzText';
import { propertyRuns } from '../helpers/propertyRuns';
import { TINY_MODEL } from '../helpers/tokenizers';

const WORD_CHAR = /[\p{L}\p{N}\p{M}\p{Pc}]/u;
const SPACE = /\s/;
type CharClass = 'space' | 'word' | 'symbol';

/** The class of each UTF-16 unit of the text (a surrogate pair's halves share their code point's class). */
function classes(text: string): CharClass[] {
  const out: CharClass[] = [];
  for (const ch of text) {
    const c: CharClass = SPACE.test(ch) ? 'space' : WORD_CHAR.test(ch) ? 'word' : 'symbol';
    for (let i = 0; i < ch.length; i++) out.push(c);
  }
  // An apostrophe between two word characters joins them ("don't").
  for (let i = 1; i + 1 < text.length; i++) {
    if ((text[i] === "'" || text[i] === '\u2019') && out[i - 1] === 'word' && out[i + 1] === 'word') out[i] = 'word';
  }
  return out;
}

function assertTiles(text: string): void {
  const { starts, ends } = wordRanges(text);
  const cls = classes(text);
  const covered = new Array<boolean>(text.length).fill(false);
  for (let u = 0; u < starts.length; u++) {
    const [s, e] = [starts[u]!, ends[u]!];
    assert.ok(s < e, `unit ${u} is empty`);
    if (u > 0) assert.ok(s >= ends[u - 1]!, `unit ${u} overlaps the one before`);
    const kind = cls[s]!;
    assert.notEqual(kind, 'space', `unit ${u} starts with whitespace: ${JSON.stringify(text.slice(s, e))}`);
    for (let i = s; i < e; i++) {
      assert.equal(cls[i], kind, `unit ${u} ${JSON.stringify(text.slice(s, e))} mixes classes at ${i}`);
      covered[i] = true;
    }
    // Maximal: the run does not continue on either side.
    if (s > 0) assert.notEqual(cls[s - 1], kind, `unit ${u} could start earlier`);
    if (e < text.length) assert.notEqual(cls[e], kind, `unit ${u} could end later`);
  }
  for (let i = 0; i < text.length; i++) assert.equal(covered[i], cls[i] !== 'space', `character ${i} (${JSON.stringify(text[i])}) ${covered[i] ? 'is whitespace inside a unit' : 'belongs to no unit'}`);
}

describe('word ranges', () => {
  it('split prose and code into words and symbol runs, without spaces or indentation', () => {
    const text = "The sister's  cat\n    sat.  f(x_1) => don’t;\t'quoted'";
    const { starts, ends } = wordRanges(text);
    const units = Array.from(starts, (s, i) => text.slice(s, ends[i]));
    assert.deepEqual(units, ['The', "sister's", 'cat', 'sat', '.', 'f', '(', 'x_1', ')', '=>', 'don’t', ';', "'", 'quoted', "'"]);
    assertTiles(text);
  });

  it(`tile every non-space character exactly on ${propertyRuns(2000)} hostile documents`, () => {
    fc.assert(fc.property(hostileDocument(60), (text) => assertTiles(text)), { numRuns: propertyRuns(2000), seed: 20261130 });
  });
});

describe('word units with scores', () => {
  let model: LanguageModel;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
  });
  after(() => model.dispose());

  it('a multi-token word gets the sum of its tokens; the hovered offset finds it', async () => {
    const text = 'an extraordinarily long word';
    const scores = await model.score(text);
    const words = wordUnits(text, scores);
    const u = unitAt(words, text.indexOf('extraordinarily'))!;
    assert.equal(text.slice(words.starts[u]!, words.ends[u]!), 'extraordinarily');
    let bits = 0;
    let rank = 0;
    for (let i = words.firstToken[u]!; i <= words.lastToken[u]!; i++) {
      bits -= scores.logprobs[i]! / Math.LN2;
      rank = Math.max(rank, scores.ranks[i]!);
    }
    assert.ok(Math.abs(words.bits[u]! - bits) < 1e-9);
    assert.equal(words.ranks[u], rank);
    assert.equal(unitAt(words, text.indexOf(' long')), undefined, 'a space is in no unit');
  });

  it(`conserve surprisal and never colour whitespace, on ${propertyRuns(300)} hostile documents`, async () => {
    const documents = fc.sample(hostileDocument(30), { numRuns: propertyRuns(300), seed: 20261201 });
    for (const text of documents) {
      const scores = await model.score(text, { topK: 1 });
      const words = wordUnits(text, scores);
      let total = 0;
      let whitespaceOnly = 0;
      for (let i = 0; i < scores.tokenCount; i++) {
        const bits = -scores.logprobs[i]! / Math.LN2;
        total += bits;
        // Whitespace-only tokens (and the split-character tokens before them) count for no word.
        if (scores.starts[i]! < scores.ends[i]! && !/\S/.test(text.slice(scores.starts[i]!, scores.ends[i]!))) {
          whitespaceOnly += bits;
          for (let j = i - 1; j >= 0 && scores.starts[j] === scores.ends[j]; j--) whitespaceOnly -= scores.logprobs[j]! / Math.LN2;
        }
      }
      let inWords = 0;
      for (let u = 0; u < words.count; u++) {
        const slice = text.slice(words.starts[u]!, words.ends[u]!);
        assert.ok(/^\S/u.test(slice) && !/\s/.test(slice), `unit ${JSON.stringify(slice)} holds whitespace`);
        if (!Number.isNaN(words.bits[u]!)) inWords += words.bits[u]!;
      }
      assert.ok(Math.abs(total - whitespaceOnly - inWords) < 1e-6 * Math.max(1, total), `${JSON.stringify(text.slice(0, 60))}: ${total} bits in all, ${whitespaceOnly} in whitespace tokens, ${inWords} in words`);
      // Token units: one per non-empty token, in order.
      const tokens = tokenUnits(scores);
      assert.equal(tokens.count, Array.from(scores.starts).filter((s, i) => s < scores.ends[i]!).length);
    }
  });
});
