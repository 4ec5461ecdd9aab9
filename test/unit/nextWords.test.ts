/**
 * Word-level next-word distribution on the tiny random-weight model: probabilities are
 * honest (sum to at most 1, beginning-of-word correction), the search finds the same best
 * word as an exhaustive reference written here, mid-word contexts complete the current word,
 * raw-token mode is `predictNext`, and cancellation stops the search.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { documentFigures } from '../../src/core/documentFigures';
import { LanguageModel, type ContinuationState } from '../../src/core/engine';
import { nextWordDistribution, splitAtWord, tailWords } from '../../src/core/nextWords';
import { temperedShares } from '../../src/core/temperature';
import { tokenViews, tokenViewsCsv } from '../../src/core/tokenView';
import { CancelledError } from '../../src/core/types';
import { parseFromPanel } from '../../src/shared/panelProtocol';
import { WorkerClient, WorkerRequestError } from '../../src/worker/workerClient';
import type { TextTokenizer } from '../../src/core/textTokenizer';
import { TINY_MODEL as MODEL, TRICKY_TEXTS } from '../helpers/tokenizers';
import { buildWorker, manualSignal, SMALL_WINDOW } from '../helpers/workerBundle';


let model: LanguageModel;
before(async () => {
  model = await LanguageModel.load(MODEL, { threads: 1 });
});
after(async () => {
  await model?.dispose();
});

// An independent statement of the word rule: a token continues a word unless its text
// starts with whitespace, punctuation or a symbol ('_' continues; a token starting with part
// of a UTF-8 character continues); special and control tokens are never words.
const strict = new TextDecoder('utf-8', { fatal: true });
function decodeOrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}
function bytesOf(id: number): Uint8Array {
  return model.tokenizer.pieceBytes(id);
}
function isSpecial(id: number): boolean {
  const b = bytesOf(id);
  return id === model.info.bosTokenId || b.length === 0 || (b[0]! < 0x20 && ![0x09, 0x0a, 0x0d].includes(b[0]!)) || b[0] === 0x7f;
}
function isContinuation(id: number): boolean {
  if (isSpecial(id)) return false;
  const b = bytesOf(id);
  // The first character, if the token holds all of it.
  const first = [1, 2, 3, 4].map((n) => (b.length >= n ? decodeOrUndefined(b.subarray(0, n)) : undefined)).find((c) => c !== undefined);
  if (first === undefined) return true;
  return /^(?:_|[^\s\p{P}\p{S}])/u.test(first);
}
function joinBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
/** A word ending in whitespace (a newline, an indent) is complete whatever follows. */
function endsInWhitespace(id: number): boolean {
  const b = bytesOf(id);
  return b.length > 0 && /\s/.test(String.fromCharCode(b[b.length - 1]!)) && b[b.length - 1]! < 0x80;
}
/** P(next token does not continue the word). */
function endOfWordMass(state: ContinuationState): number {
  let continuing = 0;
  for (let id = 0; id < state.nextLogprobs.length; id++) if (isContinuation(id)) continuing += Math.exp(state.nextLogprobs[id]!);
  return 1 - continuing;
}
function contextState(context: string): Promise<ContinuationState> {
  return model.step(null, Array.from(model.tokenizer.encode(context).ids));
}

/**
 * Exhaustive word probabilities over every token sequence of up to two tokens (the word
 * = any non-special token, then at most one continuation token), summed by text; words whose
 * bytes are not valid UTF-8 cannot be typed and are left out. Two-token sequences are run
 * best first until the best word is certain: no other word, even if every sequence not yet
 * run completed it, could reach it.
 */
async function exhaustiveBest(context: string): Promise<{ text: string; prob: number; known: Map<string, number>; unresolved: Map<string, number> }> {
  const root = await contextState(context);
  const width = model.tokenizer.vocabSize;
  const known = new Map<string, number>();
  const add = (map: Map<string, number>, key: string | undefined, p: number) => {
    if (key !== undefined) map.set(key, (map.get(key) ?? 0) + p);
  };
  const pending: { text: string; p: number; state: ContinuationState; t2: number }[] = [];
  for (let t1 = 0; t1 < width; t1++) {
    if (isSpecial(t1)) continue;
    const p1 = Math.exp(root.nextLogprobs[t1]!);
    if (endsInWhitespace(t1)) {
      add(known, decodeOrUndefined(bytesOf(t1)), p1); // complete whatever follows
      continue;
    }
    const s1 = await model.step(root, [t1]);
    add(known, decodeOrUndefined(bytesOf(t1)), p1 * endOfWordMass(s1));
    for (let t2 = 0; t2 < width; t2++) {
      if (!isContinuation(t2)) continue;
      const text = decodeOrUndefined(joinBytes(bytesOf(t1), bytesOf(t2)));
      if (text !== undefined) pending.push({ text, p: p1 * Math.exp(s1.nextLogprobs[t2]!), state: s1, t2 });
    }
  }
  pending.sort((a, b) => b.p - a.p);
  let next = 0;
  for (;;) {
    const unresolved = new Map<string, number>();
    for (let i = next; i < pending.length; i++) add(unresolved, pending[i]!.text, pending[i]!.p);
    const [bestText, bestProb] = [...known].sort((a, b) => b[1] - a[1])[0]!;
    let rival = 0;
    for (const text of new Set([...known.keys(), ...unresolved.keys()])) {
      if (text !== bestText) rival = Math.max(rival, (known.get(text) ?? 0) + (unresolved.get(text) ?? 0));
    }
    // The best word is certain, and its own probability known to 1e-5 (relative).
    if (bestProb >= rival && (unresolved.get(bestText) ?? 0) < 1e-5 * bestProb) return { text: bestText, prob: bestProb, known, unresolved };
    assert.ok(next < 4000, 'the exhaustive reference did not settle');
    for (const end = Math.min(pending.length, next + 100); next < end; next++) {
      const item = pending[next]!;
      const s2 = await model.step(item.state, [item.t2]);
      add(known, item.text, item.p * endOfWordMass(s2));
    }
  }
}

describe('splitting the text before the cursor', () => {
  test('the typed part is the current word with its leading space, or a trailing space', () => {
    assert.deepEqual(splitAtWord('The quick bro'), { before: 'The quick', partial: ' bro', midWord: true });
    assert.deepEqual(splitAtWord('The quick '), { before: 'The quick', partial: ' ', midWord: false });
    assert.deepEqual(splitAtWord('The quick   '), { before: 'The quick  ', partial: ' ', midWord: false });
    assert.deepEqual(splitAtWord('foo.ba'), { before: 'foo.', partial: 'ba', midWord: true });
    assert.deepEqual(splitAtWord('x = my_var'), { before: 'x =', partial: ' my_var', midWord: true });
    assert.deepEqual(splitAtWord('Hello,'), { before: 'Hello,', partial: '', midWord: false });
    assert.deepEqual(splitAtWord('line\n'), { before: 'line\n', partial: '', midWord: false });
    assert.deepEqual(splitAtWord('naïve café'), { before: 'naïve', partial: ' café', midWord: true });
    assert.deepEqual(splitAtWord(''), { before: '', partial: '', midWord: false });
  });

  test('the context tail keeps the last few words', () => {
    assert.equal(tailWords('short text'), 'short text');
    assert.equal(tailWords('one two three four five six seven eight nine ten eleven', 4), '… eight nine ten eleven');
  });
});

describe('next-word distribution on the tiny model', () => {
  const contexts = ['Hello, world! This is', 'def foo(', 'The text wraps.', 'class Foo:\n    ', 'the '];

  test('listed probabilities are in (0, 1] and sum to at most 1', async () => {
    for (const context of contexts) {
      const result = await nextWordDistribution(model, context, { maxWords: 15 });
      assert.equal(result.mode, 'words');
      assert.ok(result.words.length > 0, `no words for ${JSON.stringify(context)}`);
      let sum = result.endsHereProb;
      for (const word of result.words) {
        assert.ok(word.prob > 0 && word.prob <= 1, `${JSON.stringify(word.text)} has probability ${word.prob}`);
        sum += word.prob;
      }
      assert.ok(sum <= 1 + 1e-9, `probabilities after ${JSON.stringify(context)} sum to ${sum}`);
      for (let i = 1; i < result.words.length; i++) assert.ok(result.words[i - 1]!.prob >= result.words[i]!.prob, 'words are ranked');
      assert.equal(new Set(result.words.map((w) => w.text)).size, result.words.length, 'each word is listed once');
      assert.ok(result.steps <= 1 + 8 * 4, `${result.steps} model steps (at most 1 + beamWidth x maxTokensPerWord)`);
      assert.ok(result.entropyBits > 0 && result.entropyBits < Math.log2(model.info.vocabSize) + 1e-6);
    }
  });

  test('a word probability applies the beginning-of-word correction', async () => {
    const context = 'def foo(';
    const result = await nextWordDistribution(model, context, { maxWords: 5, beamWidth: 50, maxTokensPerWord: 1 });
    const root = await contextState(context);
    // With one token per word every listed word is a single token t: P = P(t) * P(word ends | t).
    let corrected = 0;
    for (const word of result.words) {
      assert.equal(word.tokens.length, 1);
      const [t] = word.tokens as [number];
      const tokenProb = Math.exp(root.nextLogprobs[t]!);
      if (endsInWhitespace(t)) {
        assert.ok(Math.abs(word.prob - tokenProb) < 1e-9, `${JSON.stringify(word.text)} ends in whitespace: its token's probability`);
        continue;
      }
      const expected = tokenProb * endOfWordMass(await model.step(root, [t]));
      assert.ok(Math.abs(word.prob - expected) < 1e-6, `${JSON.stringify(word.text)}: ${word.prob} vs ${expected}`);
      assert.ok(word.prob < tokenProb, 'the word is less probable than its token alone');
      corrected++;
    }
    assert.ok(corrected >= 3, `only ${corrected} words needed the correction`);
  });

  test('after a whole word (generation): the next words, conditioned on the word having ended', async () => {
    const context = 'Hello, world! This is';
    const result = await nextWordDistribution(model, context, { maxWords: 8, beamWidth: 50, maxTokensPerWord: 1, afterWord: true });
    assert.equal(result.midWord, false);
    assert.equal(result.partial, '');
    const root = await contextState(context);
    const ended = endOfWordMass(root);
    assert.ok(ended > 0 && ended < 1);
    let sum = 0;
    for (const word of result.words) {
      const [t] = word.tokens as [number];
      assert.equal(isContinuation(t), false, `${JSON.stringify(word.text)} would glue onto "is"`);
      assert.equal(word.completion, word.text, 'the whole word is inserted');
      const tokenProb = Math.exp(root.nextLogprobs[t]!);
      const expected = (endsInWhitespace(t) ? tokenProb : tokenProb * endOfWordMass(await model.step(root, [t]))) / ended;
      assert.ok(Math.abs(word.prob - expected) < 1e-6, `${JSON.stringify(word.text)}: ${word.prob} vs ${expected}`);
      sum += word.prob;
    }
    assert.ok(result.words.length >= 3 && sum <= 1 + 1e-9, `${result.words.length} words summing to ${sum}`);
    const usual = await nextWordDistribution(model, context, { maxWords: 8 });
    assert.equal(usual.midWord, true, 'without the option the last word is being completed');
  });

  test('the search finds the best word of an exhaustive search (words up to 2 tokens)', async () => {
    for (const context of ['def foo(', 'The text wraps.']) {
      const reference = await exhaustiveBest(context);
      const generous = await nextWordDistribution(model, context, { maxWords: 1, maxTokensPerWord: 2, beamWidth: 200 });
      assert.equal(generous.exact, true, 'with a large budget the search proves its answer');
      assert.equal(generous.words[0]!.text, reference.text);
      const slack = (reference.unresolved.get(reference.text) ?? 0) + 1e-7;
      assert.ok(Math.abs(generous.words[0]!.prob - reference.prob) < slack, `${generous.words[0]!.prob} vs ${reference.prob}`);
      const usual = await nextWordDistribution(model, context, { maxWords: 10, maxTokensPerWord: 2 });
      assert.equal(usual.words[0]!.text, reference.text, `default budget after ${JSON.stringify(context)}`);
      // Every listed word's probability is what the exhaustive enumeration gives it (up to
      // the two-token sequences the reference did not need to run).
      for (const word of usual.words) {
        const low = reference.known.get(word.text) ?? 0;
        const high = low + (reference.unresolved.get(word.text) ?? 0);
        assert.ok(word.prob >= low * 0.999 - 1e-9 && word.prob <= high + 1e-9, `${JSON.stringify(word.text)}: ${word.prob} not in [${low}, ${high}]`);
      }
    }
  });

  test('mid-word: candidates complete the typed word, conditioned on it', async () => {
    const context = 'Hello, world! This is a te';
    const result = await nextWordDistribution(model, context, { maxWords: 10 });
    assert.equal(result.midWord, true);
    assert.equal(result.partial, ' te');
    assert.ok(result.contextTail.endsWith(' a te'));
    assert.ok(result.words.length > 0);
    for (const word of result.words) {
      assert.ok(word.text.startsWith(' te'), `${JSON.stringify(word.text)} does not complete " te"`);
      assert.equal(word.completion, word.text.slice(3));
      assert.ok(word.completion.length > 0);
    }
    // P(" te..." | "…is a"): every tokenization of " te", enumerated here.
    const root = await contextState('Hello, world! This is a');
    const typed = ' te';
    let partialProb = 0;
    const walk = async (state: ContinuationState, done: string, logp: number) => {
      for (let id = 0; id < model.tokenizer.vocabSize; id++) {
        if (isSpecial(id)) continue;
        const text = done + (decodeOrUndefined(bytesOf(id)) ?? '\u{FFFD}');
        if (text.startsWith(typed)) partialProb += Math.exp(logp + state.nextLogprobs[id]!);
        else if (typed.startsWith(text)) await walk(await model.step(state, [id]), text, logp + state.nextLogprobs[id]!);
      }
    };
    await walk(root, '', 0);
    assert.ok(result.partialProb <= partialProb + 1e-9 && result.partialProb > 0.98 * partialProb, `${result.partialProb} vs ${partialProb}`);
    // The best word, through its best tokenization, divided by P(typed part).
    const best = result.words[0]!;
    let state = root;
    let logp = 0;
    for (const id of best.tokens) {
      logp += state.nextLogprobs[id]!;
      state = await model.step(state, [id]);
    }
    const direct = (Math.exp(logp) * endOfWordMass(state)) / result.partialProb;
    assert.ok(best.prob >= direct - 1e-9 && best.prob < direct * 1.05, `${best.prob} vs ${direct}`);
    // A trailing space is a typed part too: words that start with a space, the space not re-inserted.
    const spaced = await nextWordDistribution(model, 'The text ', { maxWords: 5 });
    assert.equal(spaced.midWord, false);
    assert.equal(spaced.partial, ' ');
    for (const word of spaced.words) assert.equal(` ${word.completion}`, word.text);
  });

  test('dropping and re-running caches (a small memory cap) gives the same words', async () => {
    const context = 'Hello, world! This is a te';
    const options = { maxWords: 15, maxTokensPerWord: 3, beamWidth: 60 };
    const roomy = await nextWordDistribution(model, context, options);
    const tight = await nextWordDistribution(model, context, { ...options, maxLiveStates: 1 });
    assert.equal(roomy.exact, true);
    assert.equal(tight.exact, true);
    assert.ok(tight.steps > roomy.steps, `re-runs count as steps (${tight.steps} vs ${roomy.steps})`);
    assert.deepEqual(tight.words.map((w) => w.text), roomy.words.map((w) => w.text));
    for (let i = 0; i < roomy.words.length; i++) assert.ok(Math.abs(tight.words[i]!.prob - roomy.words[i]!.prob) < 1e-5);
  });

  test('raw-token mode is predictNext', async () => {
    const context = 'Hello, world! This is';
    const raw = await nextWordDistribution(model, context, { rawTokens: true, maxWords: 12 });
    const expected = await model.predictNext(context, 12);
    assert.equal(raw.mode, 'tokens');
    assert.deepEqual(raw.words.map((w) => [w.tokens, w.text, w.prob]), expected.candidates.map((c) => [[c.id], c.text, c.prob]));
    assert.equal(raw.entropyBits, expected.entropyBits);
  });

  test('long contexts are cut to the window minus the search depth', async () => {
    const context = 'word '.repeat(200) + 'and';
    const result = await nextWordDistribution(model, context, { maxWords: 3, maxTokensPerWord: 4 });
    assert.equal(result.truncated, true);
    assert.ok(result.contextTokens + 1 + 4 <= model.info.windowSize, `${result.contextTokens} context tokens`);
    assert.ok(result.words.length > 0);
  });

  test('conditioning on the tail of a long context gives what encoding all of it gives', async () => {
    // The same model, its tokenizer encoding every context whole (the behaviour before encodeTail).
    const tokenizer = Object.create(model.tokenizer) as TextTokenizer;
    tokenizer.encodeTail = (text: string) => ({ ...model.tokenizer.encode(text), wholeText: true });
    const wholeModel = Object.create(model) as LanguageModel;
    Object.defineProperty(wholeModel, 'tokenizer', { value: tokenizer });

    const text = [
      'The quick brown fox jumps over the lazy dog, and then it ran back home. '.repeat(12),
      'def f(x):\n    if x:\n        return x + 1\n    return 0\r\n'.repeat(8),
      Object.values(TRICKY_TEXTS).filter((t) => t.length < 200).join(' '),
    ].join('\n').repeat(3);
    const cursors = [0.35, 0.5, 0.61, 0.72, 0.8, 0.93, 1].map((f) => Math.floor(text.length * f));
    cursors.push(text.indexOf(' lazy', text.length / 2) + 3, text.lastIndexOf('return') + 2, text.lastIndexOf('\n') + 1);
    let tails = 0;
    for (const cursor of cursors) {
      const context = text.slice(0, cursor);
      if (!model.tokenizer.encodeTail(splitAtWord(context).before, model.info.windowSize).wholeText) tails++;
      for (const options of [{ maxWords: 5, beamWidth: 2, maxTokensPerWord: 2 }, { maxWords: 5, rawTokens: true }]) {
        const got = await nextWordDistribution(model, context, options);
        const expected = await nextWordDistribution(wholeModel, context, options);
        assert.deepEqual(got, expected, `at ${cursor} ${JSON.stringify(context.slice(-30))}, ${options.rawTokens ? 'tokens' : 'words'}`);
        assert.equal(got.truncated, true);
      }
    }
    assert.ok(tails >= cursors.length - 1, `only ${tails} of ${cursors.length} contexts were cut`);
  });

  test('cancellation stops the search', async () => {
    await assert.rejects(nextWordDistribution(model, 'def foo(', {}, { isCancelled: true }), CancelledError);
    let checks = 0;
    const later = { get isCancelled() { return ++checks > 3; } };
    await assert.rejects(nextWordDistribution(model, 'def foo(', {}, later), CancelledError);
    assert.equal(checks, 4, 'stopped at the first check after cancelling');
  });
});

describe('panel messages', () => {
  test('messages from the webview are validated', () => {
    assert.deepEqual(parseFromPanel({ type: 'insert', requestId: 3, index: 1, text: ' the' }), { type: 'insert', requestId: 3, index: 1, text: ' the' });
    assert.equal(parseFromPanel({ type: 'insert', requestId: 3, index: -1, text: ' the' }), undefined);
    assert.equal(parseFromPanel({ type: 'insert', requestId: 3, index: 1.5, text: ' the' }), undefined);
    assert.equal(parseFromPanel({ type: 'reveal', tokenIndex: '4' }), undefined);
    assert.deepEqual(parseFromPanel({ type: 'reveal', tokenIndex: 4 }), { type: 'reveal', tokenIndex: 4 });
    assert.deepEqual(parseFromPanel({ type: 'setMode', mode: 'tokens' }), { type: 'setMode', mode: 'tokens' });
    assert.equal(parseFromPanel({ type: 'setMode', mode: 'bytes' }), undefined);
    assert.equal(parseFromPanel({ type: 'export', format: 'xml' }), undefined);
    assert.equal(parseFromPanel({ type: 'run', command: 'x' }), undefined);
    assert.equal(parseFromPanel(null), undefined);
  });

  test('temperature re-weights the shown list: p^(1/T), renormalised', () => {
    const shares = temperedShares([0.5, 0.25, 0.25], 1);
    assert.deepEqual(shares, [0.5, 0.25, 0.25]);
    const cold = temperedShares([0.5, 0.25], 0.5); // 0.25 : 0.0625
    assert.ok(Math.abs(cold[0]! - 0.8) < 1e-12 && Math.abs(cold[1]! - 0.2) < 1e-12);
    const hot = temperedShares([0.6, 0.2], 5); // 0.6^0.2 : 0.2^0.2
    assert.ok(Math.abs(hot[0]! - 0.6 ** 0.2 / (0.6 ** 0.2 + 0.2 ** 0.2)) < 1e-12);
    assert.deepEqual(temperedShares([0.6, 0.2], 1e6), hot, 'temperature is clamped to the slider range');
  });

  test('document figures: rank buckets, surprisal bins in bits, sparkline of the peaks', () => {
    const bits = [NaN, 0.5, 3, 9, 17, 1];
    const scores = {
      tokenCount: bits.length,
      logprobs: Float64Array.from(bits, (b) => -b * Math.LN2),
      ranks: Int32Array.from([0, 1, 50, 500, 5000, 10]),
    };
    const figures = documentFigures(scores, [10, 100, 1000], 18);
    assert.deepEqual(figures.rankBuckets.map((b) => b.count), [2, 1, 1, 1]);
    assert.deepEqual(figures.rankBuckets.map((b) => b.label), ['top 10', 'top 100', 'top 1000', 'beyond 1000']);
    // 6 steps of 3 bits; the last is open.
    assert.deepEqual(figures.histogram.map((b) => b.count), [2, 1, 0, 1, 0, 1]);
    assert.deepEqual(figures.histogram.map((b) => b.fromBits), [0, 3, 6, 9, 12, 15]);
    assert.equal(figures.histogram[5]!.toBits, Infinity);
    assert.deepEqual(figures.sparkline.map((p) => p.tokenIndex), [1, 2, 3, 4, 5]);
    assert.ok(Math.abs(figures.sparkline[3]!.bits - 17) < 1e-9);
  });

  test('the token table as CSV quotes text and defuses formulas', async () => {
    const text = 'x=1, "q"\n=SUM(A1)';
    const scores = await model.score(text, { topK: 2 });
    const rows = tokenViews(scores, text, (id) => model.tokenizer.displayText(id));
    assert.equal(rows.map((r) => r.text).join(''), text);
    assert.equal(rows[0]!.logprob, scores.logprobs[0], 'scored after BOS');
    assert.ok(Math.abs(rows[1]!.surprisal! + scores.logprobs[1]! / Math.LN2) < 1e-12);
    assert.equal(rows[1]!.top.length, 2);
    const csv = tokenViewsCsv(rows);
    const lines = csv.split('\r\n');
    // The CSV's header names the fields of the CLI's JSON records.
    assert.equal(lines[0], 'index,id,text,start,end,logprob,prob,surprisal,rank,entropy,top1,top1_prob');
    assert.equal(lines.length, rows.length + 2);
    assert.equal(lines[2]!.split(',')[1], String(rows[1]!.id));
    assert.ok(!/(^|,)"?=SUM/m.test(csv), 'a cell starting with = is prefixed');
    assert.ok(csv.includes('""'), 'quotes are doubled');
  });
});

describe('the worker request', () => {
  test("'nextWords' answers as the function does, and can be cancelled", async () => {
    const client = new WorkerClient(buildWorker('nextWords-worker'));
    try {
      await client.request<'load'>({ type: 'load', settings: { modelPath: MODEL, threads: 1, maxWindow: 1024 } });
      const context = 'Hello, world! This is a te';
      const viaWorker = await client.request<'nextWords'>({ type: 'nextWords', context, options: { maxWords: 5 } });
      const direct = await nextWordDistribution(model, context, { maxWords: 5 });
      assert.deepEqual(viaWorker.words.map((w) => w.text), direct.words.map((w) => w.text));
      for (let i = 0; i < direct.words.length; i++) assert.ok(Math.abs(viaWorker.words[i]!.prob - direct.words[i]!.prob) < 1e-6);
      assert.equal(viaWorker.partial, ' te');
      // Queued behind a scoring job and cancelled before it starts.
      const busy = client.request<'score'>({ type: 'score', documentKey: 'd', version: 1, text: 'word '.repeat(400), settings: SMALL_WINDOW });
      const signal = manualSignal();
      const cancelled = client.request<'nextWords'>({ type: 'nextWords', context, options: {} }, signal);
      signal.cancel();
      await assert.rejects(cancelled, (error: unknown) => error instanceof WorkerRequestError && error.cancelled);
      await busy;
    } finally {
      await client.dispose();
    }
  });
});
