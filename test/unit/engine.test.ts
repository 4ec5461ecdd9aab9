import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanguageModel, planWindows, priorityOrder } from '../../src/core/engine';
import { TINY_MODEL } from '../helpers/tokenizers';

interface ReferenceCase {
  name: string;
  text: string;
  ids: number[];
  logprobs: number[];
  ranks: number[];
  entropies_bits: number[];
  top10: number[][];
  windowed?: { context: number; stride: number; logprobs: number[] };
}
const reference: { cases: ReferenceCase[] } = JSON.parse(readFileSync(join(TINY_MODEL, 'reference.json'), 'utf8'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('engine on the tiny test model', () => {
  let model: LanguageModel;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
  });
  after(async () => {
    await model.dispose();
  });

  it('reads the model folder', () => {
    assert.equal(model.info.vocabSize, 400);
    assert.equal(model.info.contextLength, 64);
    assert.equal(model.info.bosTokenId, 0);
    assert.equal(model.info.hasKvCache, true);
  });

  for (const c of reference.cases) {
    it(`matches the PyTorch reference: ${c.name}`, async () => {
      const options = c.windowed ? { windowSize: c.windowed.context, stride: c.windowed.stride } : {};
      const scores = await model.score(c.text, options);
      assert.deepEqual(Array.from(scores.ids), c.ids, 'token ids equal the Python tokenizer');
      assert.ok(maxAbsDiff(scores.logprobs, c.windowed ? c.windowed.logprobs : c.logprobs) < 1e-4, 'log-probs within 1e-4');
      if (!c.windowed) {
        assert.deepEqual(Array.from(scores.ranks), c.ranks, 'ranks');
        assert.ok(maxAbsDiff(scores.entropies, c.entropies_bits) < 1e-3, 'entropies');
        for (let i = 0; i < c.ids.length; i++) {
          assert.deepEqual(Array.from(scores.topIds.subarray(i * 10, i * 10 + 10)), c.top10[i], `top-10 at ${i}`);
        }
      }
    });
  }

  it('gives the same log-probs through the KV cache as in one pass', async () => {
    for (const c of reference.cases.filter((x) => !x.windowed)) {
      for (const chunk of [1, 7, 64]) {
        const viaCache = await model.logprobsThroughCache(c.ids, chunk);
        assert.ok(maxAbsDiff(viaCache, c.logprobs) < 1e-4, `${c.name}, chunks of ${chunk}`);
      }
    }
  });

  it('scores a document that fits one window the same with or without windowing', async () => {
    const c = reference.cases.find((x) => x.name === 'ascii-english') ?? reference.cases[0]!;
    const plain = await model.score(c.text);
    const windowed = await model.score(c.text, { windowSize: 64, stride: 8 });
    assert.ok(maxAbsDiff(plain.logprobs, windowed.logprobs) < 1e-6);
  });

  it('scores every token of a long document exactly once, with at least window-stride context', async () => {
    const long = reference.cases.find((x) => x.windowed)!;
    const scores = await model.score(long.text, { windowSize: 64, stride: 32 });
    assert.equal(scores.summary.scoredTokens, long.ids.length);
    for (const lp of scores.logprobs) assert.ok(Number.isFinite(lp) && lp <= 0);
  });

  it('keeps top-k sorted, containing the argmax, with probabilities in (0, 1]', async () => {
    const scores = await model.score(reference.cases[0]!.text, { topK: 10 });
    for (let i = 0; i < scores.tokenCount; i++) {
      const probs = Array.from(scores.topProbs.subarray(i * 10, i * 10 + 10));
      for (let j = 1; j < probs.length; j++) assert.ok(probs[j - 1]! >= probs[j]!, 'sorted');
      for (const p of probs) assert.ok(p > 0 && p <= 1, 'probability in (0, 1]');
      const p = Math.exp(scores.logprobs[i]!);
      assert.ok(p > 0 && p <= 1);
      if (scores.ranks[i] === 1) assert.equal(scores.topIds[i * 10], scores.ids[i], 'rank 1 is the argmax');
      assert.ok(scores.topProbs[i * 10]! >= p - 1e-6, 'the argmax is at least as likely as the actual token');
    }
  });

  it('summarises: perplexity = 2^mean surprisal, bits per byte over UTF-8 bytes', async () => {
    const text = reference.cases[0]!.text;
    const scores = await model.score(text);
    const s = scores.summary;
    assert.ok(Math.abs(Math.log2(s.perplexity) - s.meanSurprisal) < 1e-9);
    const totalBits = -Array.from(scores.logprobs).reduce((a, b) => a + b, 0) / Math.LN2;
    assert.ok(Math.abs(s.bitsPerByte - totalBits / Buffer.byteLength(text)) < 1e-9);
  });

  it('re-scores incrementally: random edits give the same scores as scoring from scratch', async () => {
    let text = reference.cases.find((x) => x.windowed)!.text;
    let previous = await model.score(text);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let reusedSomething = false;
    for (let edit = 0; edit < 25; edit++) {
      const at = Math.floor(random() * text.length);
      const remove = Math.floor(random() * 3);
      const insert = ['', 'a', ' the', '\n', 'é', '🙂', 'xyz'][Math.floor(random() * 7)]!;
      text = text.slice(0, at) + insert + text.slice(at + remove);
      const incremental = await model.score(text, { previous });
      const fresh = await model.score(text);
      assert.deepEqual(Array.from(incremental.ids), Array.from(fresh.ids));
      assert.ok(maxAbsDiff(incremental.logprobs, fresh.logprobs) < 1e-4, `edit ${edit}`);
      assert.deepEqual(Array.from(incremental.ranks), Array.from(fresh.ranks));
      assert.deepEqual(Array.from(incremental.topIds), Array.from(fresh.topIds));
      if (incremental.reusedTokens > 0) reusedSomething = true;
      previous = incremental;
    }
    assert.ok(reusedSomething, 'at least one edit reused the unchanged prefix');
  });

  it('reuses the window cache when typing in the same place, with identical scores', async () => {
    const base = reference.cases.find((x) => x.windowed)!.text;
    let text = base;
    let previous = await model.score(text, { windowSize: 64, stride: 32 });
    const at = Math.floor(base.length * 0.9);
    let cached = 0;
    for (const ch of ' and then some more words') {
      const position = at + (text.length - base.length);
      text = text.slice(0, position) + ch + text.slice(position);
      const incremental = await model.score(text, { windowSize: 64, stride: 32, previous });
      const fresh = await model.score(text, { windowSize: 64, stride: 32 });
      assert.ok(maxAbsDiff(incremental.logprobs, fresh.logprobs) < 1e-4);
      assert.deepEqual(Array.from(incremental.ranks), Array.from(fresh.ranks));
      cached += incremental.cachedPositions;
      previous = incremental;
    }
    assert.ok(cached > 0, 'the keys/values of unchanged window positions were reused');
  });

  it('scores in the graph: it rewrites the tiny model', () => {
    assert.equal(model.info.inGraphScoringUnavailable, null);
  });

  it('computes the same statistics in the graph, with the score-head graph and in JavaScript', async () => {
    const withHead = await LanguageModel.load(TINY_MODEL, { threads: 1, inGraphScoring: false });
    const plain = await LanguageModel.load(TINY_MODEL, { threads: 1, inGraphScoring: false, scoreHead: null });
    try {
      assert.equal(withHead.info.inGraphScoringUnavailable, 'turned off');
      for (const c of reference.cases) {
        const inGraph = await model.score(c.text, { windowSize: 64, stride: 32 });
        for (const other of [withHead, plain]) {
          const b = await other.score(c.text, { windowSize: 64, stride: 32 });
          assert.ok(maxAbsDiff(inGraph.logprobs, b.logprobs) < 1e-5, c.name);
          assert.deepEqual(Array.from(inGraph.ranks), Array.from(b.ranks));
          assert.deepEqual(Array.from(inGraph.topIds), Array.from(b.topIds));
          assert.ok(maxAbsDiff(inGraph.topProbs, b.topProbs) < 1e-6);
          assert.ok(maxAbsDiff(inGraph.entropies, b.entropies) < 1e-4);
        }
      }
    } finally {
      await Promise.all([withHead.dispose(), plain.dispose()]);
    }
  });

  it('scores a priority range first, reports it, and ends with the same scores', async () => {
    const text = reference.cases.find((x) => x.windowed)!.text.repeat(3);
    const plain = await model.score(text, { windowSize: 64, stride: 32 });
    const middle = Math.floor(text.length / 2);
    const priority = { start: middle, end: middle + 40 };
    let partial: { logprobs: Float64Array; starts: Int32Array; ends: Int32Array } | undefined;
    const scored = await model.score(text, {
      windowSize: 64,
      stride: 32,
      priority,
      onPartial: (p) => {
        partial = { logprobs: p.logprobs.slice(), starts: p.starts, ends: p.ends };
      },
    });
    assert.ok(maxAbsDiff(scored.logprobs, plain.logprobs) < 1e-6, 'order of windows does not change scores');
    assert.ok(partial, 'a partial result was reported');
    let inRange = 0;
    let outside = 0;
    for (let i = 0; i < plain.tokenCount; i++) {
      const visible = partial.starts[i]! < priority.end && partial.ends[i]! > priority.start;
      if (visible) {
        inRange++;
        assert.ok(Math.abs(partial.logprobs[i]! - plain.logprobs[i]!) < 1e-6, `visible token ${i} scored in the partial result`);
      } else if (Number.isNaN(partial.logprobs[i]!)) outside++;
    }
    assert.ok(inRange > 0 && outside > plain.tokenCount / 2, 'the partial result holds the visible part, not the rest');
  });

  it('a visible range early in a long window is previewed: the partial comes from a short run, the end result is unchanged', async () => {
    const text = reference.cases.find((x) => x.windowed)!.text.repeat(3);
    // The tiny model's windows are far too fast to be previewed by default.
    const model = await LanguageModel.load(TINY_MODEL, { threads: 1, previewMinWork: 0 });
    try {
      const plain = await model.score(text, { windowSize: 64, stride: 32 });
      // The first line is visible (a document just opened): far less than the first window
      // (the tiny model's context is 64 tokens).
      const priority = { start: 0, end: 25 };
      const progress: number[] = [];
      let partial: Float64Array | undefined;
      const scored = await model.score(text, {
        windowSize: 64,
        stride: 32,
        priority,
        onProgress: (done) => progress.push(done),
        onPartial: (p) => (partial = p.logprobs.slice()),
      });
      assert.ok(maxAbsDiff(scored.logprobs, plain.logprobs) < 1e-6, 'the preview does not change the end result');
      assert.ok(partial, 'a partial result was reported');
      const firstAfter = plain.starts.findIndex((s) => s >= priority.end);
      for (let i = 0; i < firstAfter; i++) {
        if (i === 0 && Number.isNaN(plain.logprobs[0]!)) continue;
        assert.ok(Math.abs(partial[i]! - plain.logprobs[i]!) < 1e-5, `visible token ${i}: ${partial[i]} vs ${plain.logprobs[i]}`);
      }
      assert.ok(firstAfter > 3 && firstAfter < 0.6 * 63, `${firstAfter} visible tokens`);
      for (let i = firstAfter; i < plain.tokenCount; i++) assert.ok(Number.isNaN(partial[i]!), `token ${i}, after the visible range, is not in the preview`);
      assert.ok(progress.every((p) => p <= plain.tokenCount), `progress ${progress.join(',')} counts previewed rows once`);
      assert.equal(progress[progress.length - 1], plain.tokenCount);
    } finally {
      await model.dispose();
    }
  });

  it('a small model\'s windows are not previewed: the priority window runs whole', async () => {
    const text = reference.cases.find((x) => x.windowed)!.text.repeat(3);
    let partial: Float64Array | undefined;
    await model.score(text, { windowSize: 64, stride: 32, priority: { start: 0, end: 25 }, onPartial: (p) => (partial = p.logprobs.slice()) });
    assert.ok(partial);
    const scored = Array.from(partial).filter((lp) => !Number.isNaN(lp)).length;
    assert.ok(scored >= 60, `the whole first window (${scored} rows) came first`);
  });

  it('a long preview runs in two stages through one cache: two partial results, the first with the first lines, the same end result', async () => {
    const text = reference.cases.find((x) => x.windowed)!.text.repeat(3);
    const graphBytes = statSync(join(TINY_MODEL, 'onnx', 'model.onnx')).size;
    // The first stage: 6 tokens (the default is a fraction of a second of a large model's work).
    const model = await LanguageModel.load(TINY_MODEL, { threads: 1, previewMinWork: 0, previewFirstStageWork: 6 * graphBytes });
    try {
      const plain = await model.score(text, { windowSize: 64, stride: 32 });
      const priority = { start: 0, end: 40 };
      const partials: Float64Array[] = [];
      const scored = await model.score(text, { windowSize: 64, stride: 32, priority, onPartial: (p) => partials.push(p.logprobs.slice()) });
      assert.ok(maxAbsDiff(scored.logprobs, plain.logprobs) < 1e-5, 'the stages do not change the end result');
      assert.equal(partials.length, 2, 'the first stage, then the whole visible part');
      const firstAfter = plain.starts.findIndex((s) => s >= priority.end);
      assert.ok(firstAfter >= 12 && firstAfter <= 0.6 * 63, `${firstAfter} visible tokens: long enough for two stages`);
      const scoredIn = (lps: Float64Array) => Array.from(lps.keys()).filter((i) => !Number.isNaN(lps[i]!));
      // The first scored token: 0 after a BOS, else 1.
      const first = Number.isNaN(plain.logprobs[0]!) ? 1 : 0;
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
      assert.deepEqual(scoredIn(partials[0]!), range(first, first + 6), 'the first stage: 6 tokens');
      assert.deepEqual(scoredIn(partials[1]!), range(first, firstAfter), 'then the whole visible part');
      for (const i of scoredIn(partials[1]!)) assert.ok(Math.abs(partials[1]![i]! - plain.logprobs[i]!) < 1e-5, `visible token ${i}`);
    } finally {
      await model.dispose();
    }
  });

  it('priorityOrder previews only windows whose visible part is short, and keeps every window', () => {
    const starts = Int32Array.from({ length: 400 }, (_, i) => i * 2);
    const tokens = { ids: new Int32Array(400), starts, ends: starts.map((s) => s + 2), exactOffsets: true } as unknown as Parameters<typeof priorityOrder>[1];
    const windows = planWindows(400, 0, 127, 64, true);
    const top = priorityOrder(windows, tokens, { start: 0, end: 40 });
    assert.equal(top.priorityCount, 1);
    assert.deepEqual(top.order[0], { start: 0, end: 20, firstTarget: 0, preview: true });
    assert.deepEqual(top.order[1], { start: 0, end: 127, firstTarget: 20 }, 'then the rest of the previewed window');
    assert.deepEqual(top.order.slice(2), windows.slice(1), 'then every other window, in order');
    // Visible to near a window's end: no preview, the window itself runs first.
    const late = priorityOrder(windows, tokens, { start: 200, end: 250 });
    assert.ok(late.order.slice(0, late.priorityCount).some((w) => !w.preview));
    assert.equal(late.order.filter((w) => !w.preview).length, windows.length);
    assert.deepEqual([top.reportAfter, late.reportAfter], [[1], [late.priorityCount]]);
    // A long visible part with a first stage of 10 tokens: two previews through one cache.
    const staged = priorityOrder(windows, tokens, { start: 0, end: 100 }, true, 10);
    assert.deepEqual(staged.order.slice(0, 3), [
      { start: 0, end: 10, firstTarget: 0, preview: true },
      { start: 0, end: 50, firstTarget: 10, preview: true },
      { start: 0, end: 127, firstTarget: 50 },
    ]);
    assert.deepEqual(staged.reportAfter, [1, 2]);
    // A visible part shorter than two stages: one preview.
    assert.equal(priorityOrder(windows, tokens, { start: 0, end: 30 }, true, 10).order.filter((w) => w.preview).length, 1);
    // Every token is scored exactly once.
    for (const { order } of [top, late, staged]) {
      const scored = order.flatMap((w) => Array.from({ length: w.end - w.firstTarget }, (_, i) => w.firstTarget + i)).sort((a, b) => a - b);
      assert.deepEqual(scored, Array.from({ length: 400 }, (_, i) => i));
    }
  });

  it('predicts the next token after a context', async () => {
    const next = await model.predictNext('def f(x):', 5);
    assert.equal(next.candidates.length, 5);
    const sum = next.candidates.reduce((a, c) => a + c.prob, 0);
    assert.ok(sum > 0 && sum <= 1 + 1e-6);
    assert.ok(next.entropyBits > 0);
  });

  it('handles an empty document', async () => {
    const scores = await model.score('');
    assert.equal(scores.tokenCount, 0);
    assert.equal(scores.summary.scoredTokens, 0);
  });
});
