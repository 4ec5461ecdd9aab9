/**
 * In-graph scoring (src/core/scoringGraph.ts): the loaded graph is rewritten so its LM head
 * runs only on the scored rows and the row statistics come out of ONNX Runtime. It must give
 * what the graph as it is gives (score-head session, JavaScript), refuse what it cannot
 * rewrite with a reason, and leave such models working on the old path.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../../src/core/engine';
import type { DocumentScores } from '../../src/core/types';
import { displayableTopK } from '../../src/core/onnxModel';
import { addScoringOutputs, SCORING } from '../../src/core/scoringGraph';
import { TINY_MODEL } from '../helpers/tokenizers';
import { DEFAULT_MODEL_VS_PYTORCH, maxAbsDiff } from '../helpers/maxAbsDiff';

const ROOT = join(__dirname, '..', '..');
const DEFAULT_MODEL = join(ROOT, 'models', 'default');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');

function assertSameScores(a: DocumentScores, b: DocumentScores, what: string, tolerance = 1e-5): void {
  assert.deepEqual(Array.from(a.ids), Array.from(b.ids), `${what}: ids`);
  assert.ok(maxAbsDiff(a.logprobs, b.logprobs) < tolerance, `${what}: log-probs differ by ${maxAbsDiff(a.logprobs, b.logprobs)}`);
  assert.deepEqual(Array.from(a.ranks), Array.from(b.ranks), `${what}: ranks`);
  assert.deepEqual(Array.from(a.topIds), Array.from(b.topIds), `${what}: top ids`);
  assert.ok(maxAbsDiff(a.topProbs, b.topProbs) < tolerance, `${what}: top probabilities`);
  assert.ok(maxAbsDiff(a.entropies, b.entropies) < 1e-4, `${what}: entropies`);
}

describe('the graph rewrite', () => {
  it('adds the scoring inputs and outputs to a Hugging Face export, and ONNX Runtime loads it', async () => {
    const rewritten = addScoringOutputs(readFileSync(join(TINY_MODEL, 'onnx', 'model.onnx')));
    assert.ok(rewritten.ok);
    const session = await ort.InferenceSession.create(rewritten.bytes);
    try {
      for (const name of [SCORING.keep, SCORING.targets, SCORING.topK]) assert.ok(session.inputNames.includes(name), name);
      for (const name of [SCORING.logprob, SCORING.rank, SCORING.entropyBits, SCORING.topLogprobs, SCORING.topIds, 'logits']) assert.ok(session.outputNames.includes(name), name);
    } finally {
      await session.release();
    }
  });

  it('refuses what it cannot rewrite, with a reason', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['random bytes', Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256), /./],
      ['an empty file', new Uint8Array(0), /opset|graph/],
      ['a graph without logits', readFileSync(join(FIXTURES, 'no-logits.onnx')), /no node produces the logits/],
      ['float16 logits', readFileSync(join(ROOT, 'test', 'fixtures', 'variants', 'llama', 'onnx', 'model_fp16.onnx')), /not float32/],
    ];
    for (const [what, bytes, reason] of cases) {
      const result = addScoringOutputs(bytes);
      assert.equal(result.ok, false, what);
      if (!result.ok) assert.match(result.reason, reason, what);
    }
  });

  it('refuses a graph that already uses its names (a second rewrite)', () => {
    const once = addScoringOutputs(readFileSync(join(TINY_MODEL, 'onnx', 'model.onnx')));
    assert.ok(once.ok);
    const twice = addScoringOutputs(once.bytes);
    assert.equal(twice.ok, false);
  });
});

describe('top-k over a padded vocabulary', () => {
  it('keeps, in order, the first k ids the tokenizer can show', () => {
    // Two rows of 5 candidates each, ids >= 100 hidden.
    const ids = BigInt64Array.from([7n, 120n, 3n, 101n, 9n, 150n, 140n, 130n, 2n, 1n]);
    const logprobs = Float32Array.from([-1, -2, -3, -4, -5, -0.1, -0.2, -0.3, -0.4, -0.5]);
    const { topIds, topLogprobs } = displayableTopK(logprobs, ids, 2, 5, 3, 100);
    assert.deepEqual(Array.from(topIds, Number), [7, 3, 9, 2, 1, -1]);
    assert.deepEqual(Array.from(topLogprobs), [-1, -3, -5, Math.fround(-0.4), Math.fround(-0.5), 0]);
  });
});

describe('a head that is not a MatMul (an Identity after it) is cut after the head', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'surprisal-identity-head-'));
    cpSync(TINY_MODEL, folder, { recursive: true });
    cpSync(join(FIXTURES, 'tiny-identity-head.onnx'), join(folder, 'onnx', 'model.onnx'));
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('scores in the graph, and the same as the rewritten tiny model and as the old path', async () => {
    const cutAfter = await LanguageModel.load(folder, { threads: 1 });
    const oldPath = await LanguageModel.load(folder, { threads: 1, inGraphScoring: false });
    const rewritten = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    try {
      assert.equal(cutAfter.info.inGraphScoringUnavailable, null);
      assert.match(oldPath.info.inGraphScoringUnavailable ?? '', /turned off/);
      const text = 'def add(a, b):\n    return a + b\n\nThe quick brown fox jumps over the lazy dog. '.repeat(6);
      const reference = await rewritten.score(text, { windowSize: 64, stride: 32 });
      assertSameScores(reference, await cutAfter.score(text, { windowSize: 64, stride: 32 }), 'output cut');
      assertSameScores(reference, await oldPath.score(text, { windowSize: 64, stride: 32 }), 'outside the graph');
    } finally {
      await Promise.all([cutAfter.dispose(), oldPath.dispose(), rewritten.dispose()]);
    }
  });
});

describe('in-graph scoring on the default model', () => {
  let inGraph: LanguageModel;
  let outside: LanguageModel;
  // Held-out prose and code from the parity fixture (fixed text: not the project's own
  // files, which change with every edit), about 12,000 characters.
  const documents = (JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'default-parity.json'), 'utf8')) as { documents: { text: string }[] }).documents;
  const text = documents.map((d) => d.text).join('\n').slice(0, 12_000);
  before(async () => {
    inGraph = await LanguageModel.load(DEFAULT_MODEL, { threads: 2 });
    outside = await LanguageModel.load(DEFAULT_MODEL, { threads: 2, inGraphScoring: false });
  });
  after(async () => {
    await Promise.all([inGraph.dispose(), outside.dispose()]);
  });

  it('is used for the default model', () => {
    assert.equal(inGraph.info.inGraphScoringUnavailable, null);
    assert.equal(outside.info.inGraphScoringUnavailable, 'turned off');
  });

  it('gives the scores of the graph as it is, one window per run or four, over several thousand tokens', async () => {
    const batched = await LanguageModel.load(DEFAULT_MODEL, { threads: 2, windowsPerRun: 4 });
    try {
      const b = await outside.score(text);
      const a = await inGraph.score(text);
      assert.ok(a.tokenCount > 2000, `${a.tokenCount} tokens: enough windows for several batches`);
      assertSameScores(a, b, 'default model');
      assertSameScores(await batched.score(text), b, 'default model, 4 windows per run');
    } finally {
      await batched.dispose();
    }
  });

  it('matches the PyTorch reference: log-probs, ranks and the most likely id', async () => {
    const parity = JSON.parse(readFileSync(join(FIXTURES, 'default-parity.json'), 'utf8')) as {
      documents: { name: string; text: string; ids: number[]; logprobs: number[]; ranks: number[]; top10: number[][] }[];
    };
    for (const d of parity.documents) {
      const scores = await inGraph.score(d.text);
      assert.deepEqual(Array.from(scores.ids), d.ids, d.name);
      assert.ok(maxAbsDiff(scores.logprobs, d.logprobs) < DEFAULT_MODEL_VS_PYTORCH, `${d.name}: ${maxAbsDiff(scores.logprobs, d.logprobs)}`);
      // float32 here, float64 there: ids whose logits are within rounding may swap places.
      d.ranks.forEach((rank, i) => assert.ok(Math.abs(scores.ranks[i]! - rank) <= 1 + rank / 100, `${d.name}: rank at ${i} ${scores.ranks[i]} vs ${rank}`));
      d.top10.forEach((top, i) => assert.equal(scores.topIds[i * scores.topK], top[0], `${d.name}: most likely id at ${i}`));
    }
  });

  it('re-scores edits (key/value cache, priority range) to what a fresh scoring gives', async () => {
    let current = text;
    let previous = await inGraph.score(current);
    let cached = 0;
    for (const [fraction, insert] of [[0.9, 'x'], [0.9, 'yz '], [0.5, '\n'], [0.95, 'é😀'], [0.1, 'the ']] as const) {
      const at = Math.floor(current.length * fraction);
      current = current.slice(0, at) + insert + current.slice(at);
      const priority = { start: Math.floor(current.length * 0.6), end: Math.floor(current.length * 0.65) };
      const incremental = await inGraph.score(current, { previous, priority });
      assertSameScores(incremental, await outside.score(current), `edit at ${fraction}`);
      cached += incremental.cachedPositions;
      previous = incremental;
    }
    assert.ok(cached > 0, 'some window positions came from the key/value cache');
  });

  it('predicts the next token as the graph as it is does', async () => {
    for (const context of ['The quick brown', 'function add(a, b) {\n  return', text.slice(0, 3000)]) {
      const a = await inGraph.predictNext(context, 10);
      const b = await outside.predictNext(context, 10);
      assert.deepEqual(a.candidates.map((c) => c.id), b.candidates.map((c) => c.id));
      assert.ok(maxAbsDiff(a.candidates.map((c) => c.prob), b.candidates.map((c) => c.prob)) < 1e-5);
      assert.ok(Math.abs(a.entropyBits - b.entropyBits) < 1e-4);
    }
  });
});
