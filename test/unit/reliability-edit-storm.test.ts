/**
 * An edit storm (engine level): 1,000 random edits at typing pace on a
 * ~3,000-token document with the tiny model and a 64-token window, re-scored incrementally
 * (`score(text, { previous })`, which reuses the unchanged prefix and the window's key/value
 * cache); at the end, and at checkpoints on the way, the scores equal a from-scratch scoring:
 * same ids and ranges, log-probs within 1e-4, same ranks and top-k ids.
 *
 * Batching, as the editor's debounce does: keystrokes come in bursts of 1-30 edits (typing,
 * backspace, a paste now and then, a selection deleted, the cursor moving elsewhere), and the
 * document is re-scored once after each burst, about 65 scorings for the 1,000 edits. Scoring
 * after every single edit anywhere in the document would cost ~1,000 partial re-scorings
 * (~25-50 s on the loaded 2-core test machine); the engine sees the same kinds of differences
 * either way, since each scoring only compares the new text with the previous scoring. A second
 * test re-scores after every one of 250 keystrokes near the end of the document (~7 ms each),
 * which exercises the key/value-cache reuse within a window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import type { DocumentScores } from '../../src/core/types';
import fc from 'fast-check';
import { fragment, hostileDocument, seededRandom } from '../helpers/fuzzText';
import { TINY_MODEL } from '../helpers/tokenizers';
import { propertyRuns } from '../helpers/propertyRuns';

const OPTIONS = { topK: 5, windowSize: 64, stride: 32 } as const;
const TYPED = 'etaoin shrdlu ETAOIN,.;:()\n\té🙂日';
const PASTES = ['function f(x) { return x * 2; }\n', 'The quick brown fox jumps over the lazy dog. ', '    indented\r\n', '👨‍👩‍👧 family ', 'naïve café'];

function baseDocument(model: LanguageModel, tokens: number): string {
  const random = seededRandom(11);
  const words = ['the', 'model', 'predicts', 'each', 'token', 'from', 'what', 'came', 'before', 'it', 'and', 'we', 'show', 'how', 'surprising', 'it', 'was', 'in', 'colour'];
  let text = '';
  while (model.tokenize(text).ids.length < tokens) {
    for (let i = 0; i < 50; i++) text += words[Math.floor(random() * words.length)]! + (random() < 0.1 ? '.\n' : ' ');
  }
  return text;
}

function assertSameScores(incremental: DocumentScores, fresh: DocumentScores, label: string): void {
  assert.equal(incremental.tokenCount, fresh.tokenCount, `${label}: token count`);
  assert.deepEqual(Array.from(incremental.ids), Array.from(fresh.ids), `${label}: ids`);
  assert.deepEqual(Array.from(incremental.starts), Array.from(fresh.starts), `${label}: starts`);
  assert.deepEqual(Array.from(incremental.ends), Array.from(fresh.ends), `${label}: ends`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < fresh.tokenCount; i++) {
    const diff = Math.abs(incremental.logprobs[i]! - fresh.logprobs[i]!);
    if (!(diff <= worst)) {
      worst = diff;
      worstAt = i;
    }
  }
  assert.ok(worst < 1e-4, `${label}: log-prob differs by ${worst} at token ${worstAt}`);
  assert.deepEqual(Array.from(incremental.ranks), Array.from(fresh.ranks), `${label}: ranks`);
  assert.deepEqual(Array.from(incremental.topIds), Array.from(fresh.topIds), `${label}: top-k ids`);
  for (let i = 0; i < fresh.entropies.length; i++) {
    assert.ok(Math.abs(incremental.entropies[i]! - fresh.entropies[i]!) < 1e-3, `${label}: entropy at ${i}`);
  }
}

describe('edit storm (engine, tiny model, window 64)', () => {
  let model: LanguageModel;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
  });
  after(() => model.dispose());

  it('1,000 random edits in debounced bursts on a 3,000-token document: incremental scores equal a fresh scoring (1e-4)', async (t) => {
    const random = seededRandom(1000);
    let text = baseDocument(model, 3_000);
    let previous = await model.score(text, OPTIONS);
    const startTokens = previous.tokenCount;
    let cursor = Math.floor(text.length / 2);
    let edits = 0;
    let scorings = 0;
    let reusedTotal = 0;
    let cachedTotal = 0;
    let rescoredTotal = 0;
    const started = performance.now();
    while (edits < 1_000) {
      if (random() < 0.25) cursor = Math.floor(random() * (text.length + 1)); // the user clicks elsewhere
      const burst = Math.min(1 + Math.floor(random() * 30), 1_000 - edits);
      for (let e = 0; e < burst; e++) {
        const kind = random();
        if (kind < 0.55) {
          const ch = Array.from(TYPED)[Math.floor(random() * Array.from(TYPED).length)]!;
          text = text.slice(0, cursor) + ch + text.slice(cursor);
          cursor += ch.length;
        } else if (kind < 0.9 && cursor > 0) {
          const from = Math.max(0, cursor - 1); // backspace (may split a surrogate pair: that text is legal too)
          text = text.slice(0, from) + text.slice(cursor);
          cursor = from;
        } else if (kind < 0.93) {
          const paste = PASTES[Math.floor(random() * PASTES.length)]!;
          text = text.slice(0, cursor) + paste + text.slice(cursor);
          cursor += paste.length;
        } else {
          const to = Math.min(text.length, cursor + Math.floor(random() * 40));
          text = text.slice(0, cursor) + text.slice(to); // a selection deleted
        }
        edits++;
      }
      const scored = await model.score(text, { ...OPTIONS, previous });
      scorings++;
      reusedTotal += scored.reusedTokens;
      cachedTotal += (scored as DocumentScores & { cachedPositions?: number }).cachedPositions ?? 0;
      rescoredTotal += scored.tokenCount - scored.reusedTokens;
      if (scorings % 20 === 0) assertSameScores(scored, await model.score(text, OPTIONS), `after ${edits} edits`);
      previous = scored;
    }
    const elapsed = performance.now() - started;
    assertSameScores(previous, await model.score(text, OPTIONS), 'after 1,000 edits');
    t.diagnostic(`${edits} edits, ${scorings} scorings in ${elapsed.toFixed(0)} ms; ${startTokens} -> ${previous.tokenCount} tokens; ` +
      `reused ${reusedTotal} tokens, re-scored ${rescoredTotal}, ${cachedTotal} positions from the key/value cache`);
    assert.equal(edits, 1_000);
    assert.ok(previous.tokenCount > 2_500, `still a ~3,000-token document (${previous.tokenCount})`);
    // Edits land anywhere, so about half the document is reused on average.
    assert.ok(reusedTotal > 0.3 * (reusedTotal + rescoredTotal), 'the unchanged prefix was reused');
  });

  it('250 keystrokes near the end of a 3,000-token document, re-scored after every one (the key/value cache path)', async (t) => {
    const random = seededRandom(2000);
    let text = baseDocument(model, 3_000);
    let previous = await model.score(text, OPTIONS);
    let cached = 0;
    const started = performance.now();
    for (let edit = 1; edit <= 250; edit++) {
      // Writing at the end of the document, with the cursor moving back now and then.
      const cursor = Math.max(0, text.length - Math.floor(random() * random() * 300));
      if (random() < 0.75) {
        const ch = Array.from(TYPED)[Math.floor(random() * Array.from(TYPED).length)]!;
        text = text.slice(0, cursor) + ch + text.slice(cursor);
      } else {
        text = text.slice(0, Math.max(0, cursor - 1)) + text.slice(cursor);
      }
      const scored = await model.score(text, { ...OPTIONS, previous });
      cached += (scored as DocumentScores & { cachedPositions?: number }).cachedPositions ?? 0;
      if (edit % 50 === 0) assertSameScores(scored, await model.score(text, OPTIONS), `after ${edit} keystrokes`);
      previous = scored;
    }
    // The engine reports `cachedPositions` since it reuses a window's keys/values (a226f10).
    if ('cachedPositions' in previous) assert.ok(cached > 0, 'typing in the same window reused its key/value cache');
    t.diagnostic(`250 keystrokes, 250 scorings in ${(performance.now() - started).toFixed(0)} ms; ${cached} positions from the key/value cache`);
    assertSameScores(previous, await model.score(text, OPTIONS), 'after 250 keystrokes');
  });

  it('fast-check: 150 hostile documents, each edited twice with hostile text (split surrogate pairs, CRLF, marks, specials): incremental equals fresh', async () => {
    const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), remove: fc.integer({ min: 0, max: 6 }), insert: fc.oneof(fragment, fc.constant('')) });
    await fc.assert(
      fc.asyncProperty(hostileDocument(60), fc.array(edit, { minLength: 1, maxLength: 2 }), async (original, edits) => {
        let text = original;
        let previous = await model.score(text, { topK: 5, windowSize: 16, stride: 8 });
        for (const { at, remove, insert } of edits) {
          const position = Math.floor(at * text.length);
          text = text.slice(0, position) + insert + text.slice(position + remove);
          const scored = await model.score(text, { topK: 5, windowSize: 16, stride: 8, previous });
          assertSameScores(scored, await model.score(text, { topK: 5, windowSize: 16, stride: 8 }), JSON.stringify(text.slice(0, 60)));
          previous = scored;
        }
      }),
      { numRuns: propertyRuns(150), seed: 7 },
    );
  });

  it('edits at the very start, at the very end, undo to the original, and an emptied document', async () => {
    const original = baseDocument(model, 400);
    let previous = await model.score(original, OPTIONS);
    const steps: [string, string][] = [
      ['insert at the start', `X${original}`],
      ['delete at the start', original.slice(1)],
      ['undo to the original', original],
      ['append at the end', `${original}more words at the end`],
      ['delete the last character', original.slice(0, -1)],
      ['unchanged', original.slice(0, -1)],
      ['replace everything', 'completely different text'],
      ['empty', ''],
      ['retyped', original],
    ];
    for (const [label, text] of steps) {
      const scored = await model.score(text, { ...OPTIONS, previous });
      assertSameScores(scored, await model.score(text, OPTIONS), label);
      previous = scored;
    }
  });
});
