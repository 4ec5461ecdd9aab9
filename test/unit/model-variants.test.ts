/**
 * Every file variant the Hub's ONNX repositories ship loads and scores: fp32, fp16 (fp16 KV
 * cache and logits), dynamic int8 (MatMulInteger), 4-bit MatMulNBits (blocks of 32 and 128),
 * q4f16, external data files, Optimum's merged decoder, a logits_to_keep input; for GPT-2,
 * Llama (GQA) and Qwen2 (GQA, qkv biases, padded logits). The fixtures are random-weight
 * models made by test/fixtures/variants/make_variants.py with the operators and layouts of
 * ONNX Runtime's and transformers.js's conversion tools.
 *
 * Checked per variant: the tokens tile the text; the log-probs equal the fp32 graph's within a
 * tolerance that follows from the variant's arithmetic (below), and track them (correlation);
 * re-scoring after an edit through the key/value cache equals scoring from scratch; and
 * transformers.js, loading the same file with its `dtype` option, gives the same log-probs
 * within 1e-3 (both run the same graph in the same ONNX Runtime).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AutoModelForCausalLM, Tensor, env } from '@huggingface/transformers';
import { LanguageModel } from '../../src/core/engine';
import { readModelFolder } from '../../src/core/modelFolder';
import { halfToFloat, OnnxCausalLm, scoredRowsPerRun } from '../../src/core/onnxModel';
import { maxAbsDiff } from '../helpers/maxAbsDiff';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'variants');

/** A text longer than the 64-token windows used below, so sliding windows run too. */
const TEXT = [
  'The quick brown fox jumps over the lazy dog, and the dog does not mind.\n',
  'def wrap(text, width=70):\n    """Wrap a paragraph."""\n    return [line.strip() for line in text.splitlines()]\n',
  'Numbers: 3.14159, 2.71828; symbols { } [ ] < > and an emoji 🦊 at the end.\n',
].join('');
/** Fits one window: what transformers.js scores in one forward pass. */
const SHORT = 'The quick brown fox jumps over the lazy dog.\ndef f(x):\n    return x + 1\n';

interface Variant {
  readonly file: string;
  readonly archs: readonly string[];
  /** Largest |ln P - ln P(fp32)| over the tokens, and why. */
  readonly tolerance: number;
  readonly why: string;
  /** transformers.js from_pretrained options that load this file. */
  readonly transformersJs: Record<string, unknown>;
  /**
   * Largest |Δ ln P| between re-scoring an edit through the cache and scoring from scratch.
   * Exact graphs: 1e-4. Dynamic int8: DynamicQuantizeLinear takes one scale per run over all
   * the rows it is given, so a window run as cached prefix + the rest quantizes its
   * activations differently from one run over the whole window (transformers.js's generation
   * through the cache does the same); the difference is within the variant's own error.
   */
  readonly editTolerance?: number;
}

const ALL = ['gpt2', 'llama', 'qwen2'];
const VARIANTS: readonly Variant[] = [
  { file: 'model.onnx', archs: ALL, tolerance: 0, why: 'the reference itself', transformersJs: { dtype: 'fp32' } },
  {
    file: 'model_external.onnx', archs: ALL, tolerance: 1e-5, why: 'the same weights read from two data files; only kernel order can differ',
    transformersJs: { dtype: 'fp32', model_file_name: 'model_external', use_external_data_format: 2 },
  },
  {
    file: 'decoder_model_merged.onnx', archs: ALL, tolerance: 1e-5, why: 'the same weights in two If branches',
    transformersJs: { dtype: 'fp32', model_file_name: 'decoder_model_merged' },
  },
  {
    file: 'model_logits_to_keep.onnx', archs: ['llama', 'qwen2'], tolerance: 1e-5, why: 'a Slice before the same LM head',
    transformersJs: { dtype: 'fp32', model_file_name: 'model_logits_to_keep' },
  },
  {
    // 11-bit mantissas: each rounding is within 2^-11 relative; logits of magnitude ~5 move by
    // ~1e-3 after a few layers, and a log-prob is a difference of two such (measured <= 5.3e-3).
    file: 'model_fp16.onnx', archs: ALL, tolerance: 2e-2, why: 'float16 weights, activations, cache and logits',
    transformersJs: { dtype: 'fp16' },
  },
  {
    // Weights on 127 levels per output column (reduce_range), activations on 256 levels per
    // tensor: ~0.5-1% relative error per product, ~0.02-0.1 nats on these logits (measured <= 0.13).
    file: 'model_quantized.onnx', archs: ALL, tolerance: 0.3, why: 'int8 weights (7-bit range) and dynamically quantized uint8 activations',
    transformersJs: { dtype: 'q8' }, editTolerance: 0.3,
  },
  {
    file: 'model_uint8.onnx', archs: ['llama'], tolerance: 0.3, why: 'uint8 weights (7-bit range), uint8 activations',
    transformersJs: { dtype: 'uint8' }, editTolerance: 0.3,
  },
  {
    // 16 levels per block of 32 (or 128) weights scaled by the block's largest magnitude: a step
    // of ~0.4 standard deviations, ~6% relative error per weight; on these random weights the
    // log-probs move by up to ~0.7 nats (real models' weights are smoother, errors smaller).
    file: 'model_q4.onnx', archs: ALL, tolerance: 1.5, why: '4-bit weights, blocks of 32',
    transformersJs: { dtype: 'q4' },
  },
  {
    file: 'model_q4_block128.onnx', archs: ['llama', 'qwen2'], tolerance: 1.5, why: '4-bit weights, blocks of 128 (padded where K < 128)',
    transformersJs: { dtype: 'fp32', model_file_name: 'model_q4_block128' },
  },
  {
    file: 'model_q4f16.onnx', archs: ALL, tolerance: 1.5, why: '4-bit weights in a float16 graph: the q4 error plus the fp16 one',
    transformersJs: { dtype: 'q4f16' },
  },
  {
    // 16 NF4 levels per block of 64 consecutive weights of a column (absmax scaling): the
    // same error size as q4's (mean |Δw| 9% of mean |w| on these random weights).
    file: 'model_bnb4.onnx', archs: ['llama'], tolerance: 1.5, why: '4-bit NF4 weights, blocks of 64 (MatMulBnb4)',
    transformersJs: { dtype: 'bnb4' },
  },
];

/**
 * Every graph with float32 logits is rewritten to score in the graph (a MatMul or 4-bit head
 * cut to the kept rows, any other head's output cut); float16 logits are analysed in JavaScript.
 */
const SCORED_OUTSIDE_GRAPH = new Set(['model_fp16.onnx', 'model_q4f16.onnx']);

/** Smallest correlation of a variant's log-probs with fp32's: a broken dequantisation scatters them. */
const MIN_CORRELATION = 0.95;

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!) || !Number.isFinite(b[i]!)) continue;
    n++; sa += a[i]!; sb += b[i]!; saa += a[i]! ** 2; sbb += b[i]! ** 2; sab += a[i]! * b[i]!;
  }
  return (sab - (sa * sb) / n) / Math.sqrt((saa - sa ** 2 / n) * (sbb - sb ** 2 / n));
}

/** ln P of each id after BOS, from transformers.js's own forward pass over `[bos, ...ids]`. */
async function transformersJsLogprobs(arch: string, options: Record<string, unknown>, ids: readonly number[]): Promise<number[]> {
  const model = await AutoModelForCausalLM.from_pretrained(arch, { local_files_only: true, ...options } as never);
  try {
    const sequence = [0, ...ids];
    const inputs: Record<string, Tensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(sequence, BigInt), [1, sequence.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(sequence.length).fill(1n), [1, sequence.length]),
    };
    // transformers.js fills num_logits_to_keep itself; the newer name is passed as the user would.
    if (options.model_file_name === 'model_logits_to_keep' && arch === 'qwen2') inputs.logits_to_keep = new Tensor('int64', [0n], []);
    const out = (await model.forward(inputs)) as { logits: Tensor };
    const [, rows, width] = out.logits.dims as [number, number, number];
    assert.equal(rows, sequence.length);
    const raw = out.logits.data as ArrayLike<number>;
    const value = out.logits.type === 'float16' && raw instanceof Uint16Array ? (i: number) => halfToFloat(raw[i]!) : (i: number) => Number(raw[i]!);
    const result: number[] = [];
    for (let t = 0; t < ids.length; t++) {
      let max = -Infinity;
      for (let v = 0; v < width; v++) max = Math.max(max, value(t * width + v));
      let sum = 0;
      for (let v = 0; v < width; v++) sum += Math.exp(value(t * width + v) - max);
      result.push(value(t * width + ids[t]!) - max - Math.log(sum));
    }
    return result;
  } finally {
    await model.dispose();
  }
}

for (const arch of ALL) {
  describe(`${arch} variants`, () => {
    const folder = join(FIXTURES, arch);
    let reference: Float64Array;

    before(async () => {
      const fp32 = await LanguageModel.load(folder, { threads: 1, graphFile: 'onnx/model.onnx' });
      try {
        reference = (await fp32.score(TEXT, { windowSize: 64 })).logprobs;
      } finally {
        await fp32.dispose();
      }
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = FIXTURES + '/';
    });

    for (const variant of VARIANTS.filter((v) => v.archs.includes(arch))) {
      it(`${variant.file}: tiles the text, log-probs within ${variant.tolerance} of fp32 (${variant.why}), edits through the cache, transformers.js within 1e-3`, async (t) => {
        const model = await LanguageModel.load(folder, { threads: 1, graphFile: `onnx/${variant.file}` });
        try {
          const scores = await model.score(TEXT, { windowSize: 64 });
          assert.ok(scores.tokenCount > 100, 'several windows of 64');
          assert.equal(scores.starts[0], 0);
          assert.equal(scores.ends[scores.tokenCount - 1], TEXT.length);
          for (let i = 1; i < scores.tokenCount; i++) assert.equal(scores.starts[i], scores.ends[i - 1], `token ${i} starts where ${i - 1} ends`);
          for (let i = 0; i < scores.tokenCount; i++) assert.ok(Number.isFinite(scores.logprobs[i]!) && scores.logprobs[i]! <= 0, `token ${i}: ${scores.logprobs[i]}`);
          const diff = maxAbsDiff(scores.logprobs, reference);
          const r = correlation(scores.logprobs, reference);
          t.diagnostic(`${scores.tokenCount} tokens, max |Δ ln P| vs fp32 ${diff.toExponential(2)}, correlation ${r.toFixed(5)}, in-graph: ${model.info.inGraphScoringUnavailable ?? 'yes'}`);
          assert.ok(diff <= variant.tolerance, `max |Δ ln P| ${diff} > ${variant.tolerance}`);
          // A float32 MatMul head is rewritten to score in the graph, weights inside the file or beside it.
          if (!SCORED_OUTSIDE_GRAPH.has(variant.file)) assert.equal(model.info.inGraphScoringUnavailable, null);
          else assert.ok(model.info.inGraphScoringUnavailable, 'the reason it scores outside the graph');
          assert.ok(r >= MIN_CORRELATION, `correlation ${r}`);

          // An edit near the end: the edited window starts from the cached keys/values.
          const edited = TEXT.replace('at the end', 'at the END');
          const incremental = await model.score(edited, { windowSize: 64, previous: scores });
          const fresh = await model.score(edited, { windowSize: 64 });
          assert.ok(incremental.reusedTokens > 0);
          const editDiff = maxAbsDiff(incremental.logprobs, fresh.logprobs);
          assert.ok(incremental.cachedPositions > 0, 'the edited window started from the cache');
          assert.ok(editDiff <= (variant.editTolerance ?? 1e-4), `edit through the cache: ${editDiff}`);

          const short = await model.score(SHORT, { windowSize: 128 });
          const ids = Array.from(short.ids);
          const theirs = await transformersJsLogprobs(arch, variant.transformersJs, ids);
          const vsTransformersJs = maxAbsDiff(short.logprobs, theirs);
          t.diagnostic(`transformers.js (${JSON.stringify(variant.transformersJs)}): max |Δ ln P| ${vsTransformersJs.toExponential(2)} over ${ids.length} tokens`);
          assert.ok(vsTransformersJs <= 1e-3, `transformers.js differs by ${vsTransformersJs}`);
        } finally {
          await model.dispose();
        }
      });
    }
  });
}

after(() => {
  env.localModelPath = '/models/';
});

describe('long windows at a large vocabulary', () => {
  it('a window with more scored rows than one run takes is scored in chunks through the cache, with the same results', async () => {
    const folder = join(FIXTURES, 'llama');
    const folderConfig = readModelFolder(folder, 'onnx/model.onnx');
    // 70 rows x 400 ids a run: a 160-token window runs as 3 chunks.
    const chunked = await OnnxCausalLm.load(folderConfig.graphPath, folderConfig.config, { intraOpThreads: 1, scoredCellsPerRun: 70 * 400 });
    const whole = await OnnxCausalLm.load(folderConfig.graphPath, folderConfig.config, { intraOpThreads: 1 });
    try {
      assert.equal(scoredRowsPerRun(400, 70 * 400), 70);
      const ids = Array.from({ length: 161 }, (_, i) => (i * 37 + 5) % 400);
      const targets = BigInt64Array.from(ids.slice(21).concat([0]), BigInt); // rows 20..160 predict ids 21..160, the last row a dummy
      const a = await chunked.forwardScored([ids], null, true, targets, 5, 400, 400);
      const b = await whole.forwardScored([ids], null, true, targets, 5, 400, 400);
      assert.equal(a.logprobs.length, 141);
      assert.ok(maxAbsDiff(a.logprobs, b.logprobs) < 1e-5, `log-probs ${maxAbsDiff(a.logprobs, b.logprobs)}`);
      assert.ok(maxAbsDiff(a.entropyBits, b.entropyBits) < 1e-4);
      assert.deepEqual(Array.from(a.ranks), Array.from(b.ranks));
      assert.deepEqual(Array.from(a.topIds), Array.from(b.topIds));
      assert.equal(a.cache!.length, 161);
      // The cache it keeps continues the text as the unchunked one's does.
      const next = BigInt64Array.of(7n);
      const c = await chunked.forwardScored([[3]], a.cache, false, next, 5, 400, 400);
      const d = await whole.forwardScored([[3]], b.cache, false, next, 5, 400, 400);
      assert.ok(Math.abs(c.logprobs[0]! - d.logprobs[0]!) < 1e-5);
    } finally {
      await chunked.release();
      await whole.release();
    }
  });

  it('the top-k leaves out the ids past the tokenizer (Qwen2 pads its logits to 416)', async () => {
    const model = await LanguageModel.load(join(FIXTURES, 'qwen2'), { threads: 1, graphFile: 'onnx/model.onnx' });
    try {
      assert.equal(model.info.vocabSize, 416);
      const scores = await model.score(TEXT, { topK: 50 });
      assert.equal(model.info.inGraphScoringUnavailable, null);
      for (const id of scores.topIds) assert.ok(id >= 0 && id < 400, `top id ${id}`);
    } finally {
      await model.dispose();
    }
  });
});

describe('window size from the context and a memory budget', () => {
  it('is the whole context when its working memory fits, shorter when it does not, longer when the graph scores in runs', async () => {
    const folder = readModelFolder(join(FIXTURES, 'qwen2'), 'onnx/model.onnx');
    const inGraph = await OnnxCausalLm.load(folder.graphPath, folder.config, { intraOpThreads: 1 });
    const outside = await OnnxCausalLm.load(folder.graphPath, folder.config, { intraOpThreads: 1, inGraphScoring: false });
    try {
      assert.equal(inGraph.windowSize(256, 416, 4), 256);
      // At SmolLM2's logits width: outside the graph every row's logits count (2 x 4 x 49,152
      // bytes a position); in the graph the statistics run in bounded chunks.
      const small = outside.windowSize(100_000, 49_152, 4, 1 << 30);
      assert.ok(small > 1500 && small < 2800, `outside: ${small}`);
      const large = inGraph.windowSize(100_000, 49_152, 4, 1 << 30);
      assert.ok(large > 4 * small, `in the graph ${large} > 4 x outside ${small}`);
      assert.ok(outside.windowSize(100_000, 49_152, 4, 512 << 20) < small, 'a smaller budget, a shorter window');
      assert.equal(outside.windowSize(100_000, 49_152, 4, 1), 16, 'never below 16 tokens');
    } finally {
      await inGraph.release();
      await outside.release();
    }
  });

  it('a document within the context runs as one window', async () => {
    const model = await LanguageModel.load(join(FIXTURES, 'llama'), { threads: 1, graphFile: 'onnx/model.onnx' });
    try {
      assert.equal(model.info.windowSize, 256, 'the whole context (config max_position_embeddings 256)');
      const scores = await model.score(TEXT);
      assert.ok(scores.tokenCount < 255);
      assert.equal(scores.windowSize, 256);
      for (let i = 0; i < scores.tokenCount; i++) assert.ok(Number.isFinite(scores.logprobs[i]!));
    } finally {
      await model.dispose();
    }
  });
});
