/**
 * Engine variants for full scoring, side by side in one process (medians of interleaved reps):
 *   engine        today's LanguageModel.score (src/core: statistics by the ScoreHead graph when
 *                 media/score-head.onnx is there, else JavaScript analyseRow)
 *   engineLoop    the engine's loop with JavaScript analyseRow (the fallback)
 *   fastRow       same loop, analyseRowFast (fused single pass) instead of analyseRow
 *   postGraph     model.onnx logits -> second tiny ONNX graph (LogSoftmax/GatherElements/TopK...)
 *   fused         model graph with in-graph statistics and the LM head on the scored rows only
 *   fusedBatchN   fused, N full windows per run (batch dimension)
 * All produce the engine's per-token outputs; differences to the engine are printed.
 * Needs bench/.cache/{postproc,fused}.onnx from make_graphs.py.
 * Usage: node --import tsx bench/scratch/variants.ts [model] [tokens] [reps]
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { LanguageModel } from '../../src/core/engine';
import { analyseRow } from '../../src/core/distribution';
import { analyseRowFast } from './analyseRowFast';
import { benchTexts } from '../texts';
import { feeds, median, type GraphShape } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const N = Number(process.argv[3] ?? 2000);
const REPS = Number(process.argv[4] ?? 5);
const CACHE = join(__dirname, '..', '.cache');
const K = 10;

interface Out { logprobs: Float64Array; ranks: Int32Array; entropies: Float32Array; topIds: Int32Array; topProbs: Float32Array }
const newOut = (n: number): Out => ({ logprobs: new Float64Array(n).fill(NaN), ranks: new Int32Array(n), entropies: new Float32Array(n).fill(NaN), topIds: new Int32Array(n * K).fill(-1), topProbs: new Float32Array(n * K) });

/** The engine's window grid: [start, end, first] per window (BOS model). */
function grid(n: number, W: number): [number, number, number][] {
  const per = W - 1, stride = Math.floor(W / 2), out: [number, number, number][] = [];
  let scored = 0;
  for (let s = 0; ; s += stride) {
    const end = Math.min(s + per, n);
    out.push([s, end, scored]);
    scored = end;
    if (end === n) break;
  }
  return out;
}

(async () => {
  const threads = 2;
  const lm = await LanguageModel.load(M, { threads });
  const cfg = { layers: 0, heads: 0, headDim: 0 } as GraphShape;
  const c = (await import(join(process.cwd(), M, 'config.json'), { with: { type: 'json' } })).default;
  cfg.layers = c.n_layer; cfg.heads = c.n_head; cfg.headDim = c.n_embd / c.n_head;
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
  const base = await ort.InferenceSession.create(join(M, 'onnx', 'model.onnx'), opts);
  const post = await ort.InferenceSession.create(join(CACHE, 'postproc.onnx'), opts);
  const fused = await ort.InferenceSession.create(join(CACHE, 'fused.onnx'), opts);
  const texts = benchTexts(lm.tokenizer, [N]);
  const W = lm.info.windowSize, V = lm.info.vocabSize;

  const jsLoop = (row: typeof analyseRow) => async (ids: Int32Array): Promise<Out> => {
    const o = newOut(ids.length);
    for (const [s, end, first] of grid(ids.length, W)) {
      const seq = [0, ...ids.subarray(s, end)];
      const r = await base.run(feeds(cfg, [seq]), ['logits']);
      const logits = r.logits!.data as Float32Array;
      for (let j = first; j < end; j++) {
        const st = row(logits, (j - s) * V, V, ids[j]!, V, o.topIds, o.topProbs, j * K, K);
        o.logprobs[j] = st.logprob; o.ranks[j] = st.rank; o.entropies[j] = st.entropyBits;
      }
    }
    return o;
  };
  const put = (o: Out, j0: number, count: number, res: ort.InferenceSession.OnnxValueMapType, rowOffset = 0) => {
    const lp = res.logprob!.data as Float32Array, rk = res.rank!.data as Float32Array, en = res.entropy!.data as Float32Array;
    const tl = res.top_logprobs!.data as Float32Array, ti = res.top_ids!.data as BigInt64Array;
    for (let q = 0; q < count; q++) {
      const j = j0 + q, r = rowOffset + q;
      o.logprobs[j] = lp[r]!; o.ranks[j] = rk[r]!; o.entropies[j] = en[r]! / Math.LN2;
      for (let t = 0; t < K; t++) { o.topIds[j * K + t] = Number(ti[r * K + t]!); o.topProbs[j * K + t] = Math.exp(tl[r * K + t]!); }
    }
  };
  const postGraph = async (ids: Int32Array): Promise<Out> => {
    const o = newOut(ids.length);
    for (const [s, end, first] of grid(ids.length, W)) {
      const seq = [0, ...ids.subarray(s, end)];
      const r = await base.run(feeds(cfg, [seq]), ['logits']);
      const logits = r.logits!.data as Float32Array;
      const rows = end - first;
      const res = await post.run({
        logits: new ort.Tensor('float32', logits.subarray((first - s) * V, (end - s) * V), [rows, V]),
        targets: new ort.Tensor('int64', BigInt64Array.from(ids.subarray(first, end), BigInt), [rows]),
      });
      put(o, first, rows, res);
    }
    return o;
  };
  const FUSED_FETCH = ['logprob', 'rank', 'entropy', 'top_logprobs', 'top_ids'];
  const fusedRun = (batch: number) => async (ids: Int32Array): Promise<Out> => {
    const o = newOut(ids.length);
    const g = grid(ids.length, W);
    // Full windows other than the first share one shape: batch them.
    const isFull = (w: [number, number, number], i: number) => i > 0 && w[1] - w[0] === W - 1;
    const pending: [number, number, number][] = [];
    const flush = async () => {
      if (!pending.length) return;
      const keep = pending[0]![1] - pending[0]![2] + 1;
      const seqs = pending.map(([s, end]) => [0, ...ids.subarray(s, end)]);
      const targets = new BigInt64Array(pending.length * keep);
      pending.forEach(([, end, first], b) => { for (let q = 0; q < keep - 1; q++) targets[b * keep + q] = BigInt(ids[first + q]!); void end; });
      const res = await fused.run(feeds(cfg, seqs, { keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), [1]), targets: new ort.Tensor('int64', targets, [pending.length, keep]) }), FUSED_FETCH);
      pending.forEach(([, end, first], b) => put(o, first, end - first, res, b * keep));
      pending.length = 0;
    };
    for (let i = 0; i < g.length; i++) {
      pending.push(g[i]!);
      if (!(isFull(g[i]!, i) && pending.length < batch && i + 1 < g.length && isFull(g[i + 1]!, i + 1))) await flush();
    }
    await flush();
    return o;
  };
  // JS post-processing of window i while ONNX Runtime already runs window i + 1 (run() is async).
  const pipelined = (row: typeof analyseRow) => async (ids: Int32Array): Promise<Out> => {
    const o = newOut(ids.length);
    const g = grid(ids.length, W);
    const start = (i: number) => base.run(feeds(cfg, [[0, ...ids.subarray(g[i]![0], g[i]![1])]]), ['logits']);
    let next = start(0);
    for (let i = 0; i < g.length; i++) {
      const r = await next;
      if (i + 1 < g.length) next = start(i + 1);
      const [s, end, first] = g[i]!;
      const logits = r.logits!.data as Float32Array;
      for (let j = first; j < end; j++) {
        const st = row(logits, (j - s) * V, V, ids[j]!, V, o.topIds, o.topProbs, j * K, K);
        o.logprobs[j] = st.logprob; o.ranks[j] = st.rank; o.entropies[j] = st.entropyBits;
      }
    }
    return o;
  };
  // Batching alone, with today's graph: equal-length full windows `batch` at a time, JS rows.
  const jsBatch = (batch: number, row: typeof analyseRow) => async (ids: Int32Array): Promise<Out> => {
    const o = newOut(ids.length);
    const g = grid(ids.length, W);
    for (let i = 0; i < g.length; ) {
      const len = g[i]![1] - g[i]![0];
      let j = i + 1;
      while (j < g.length && j - i < batch && g[j]![1] - g[j]![0] === len && i > 0) j++;
      const group = g.slice(i, j);
      const r = await base.run(feeds(cfg, group.map(([s, e]) => [0, ...ids.subarray(s, e)])), ['logits']);
      const logits = r.logits!.data as Float32Array;
      const T = len + 1;
      group.forEach(([s, end, first], b) => {
        for (let q = first; q < end; q++) {
          const st = row(logits, (b * T + q - s) * V, V, ids[q]!, V, o.topIds, o.topProbs, q * K, K);
          o.logprobs[q] = st.logprob; o.ranks[q] = st.rank; o.entropies[q] = st.entropyBits;
        }
      });
      i = j;
    }
    return o;
  };
  const variants: [string, (ids: Int32Array) => Promise<Out>][] = [
    ['engine', async (ids) => { void ids; throw new Error('unused'); }],
    ['engineLoop', jsLoop(analyseRow)],
    ['fastRow', jsLoop(analyseRowFast)],
    ['pipelined', pipelined(analyseRow)],
    ['fastRow+pipe', pipelined(analyseRowFast)],
    ['batch4', jsBatch(4, analyseRow)],
    ['fastRow+b4', jsBatch(4, analyseRowFast)],
    ['postGraph', postGraph],
    ['fused', fusedRun(1)],
    ['fusedBatch4', fusedRun(4)],
    ['fusedBatch64', fusedRun(64)],
  ];
  for (const text of texts) {
    const ids = lm.tokenize(text.text).ids;
    const ref = await lm.score(text.text);
    const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
    for (let rep = 0; rep < REPS + 1; rep++) {
      // Rotate the order every repetition so that no variant always runs first.
      const order = variants.map((_, i) => variants[(i + Math.max(0, rep)) % variants.length]!);
      for (const [name, fn] of order) {
        const t = performance.now();
        const o = name === 'engine' ? await lm.score(text.text) : await fn(ids);
        const dt = performance.now() - t;
        if (rep > 0) times.get(name)!.push(dt); // rep 0 warms up
        if (rep === 0 && name !== 'engine') {
          let d = 0, rk = 0, ti = 0, de = 0, dp = 0;
          for (let j = 0; j < ids.length; j++) { d = Math.max(d, Math.abs(o.logprobs[j]! - ref.logprobs[j]!)); de = Math.max(de, Math.abs(o.entropies[j]! - ref.entropies[j]!)); if (o.ranks[j] !== ref.ranks[j]) rk++; }
          for (let j = 0; j < ref.topIds.length; j++) { if (o.topIds[j] !== ref.topIds[j]) ti++; dp = Math.max(dp, Math.abs(o.topProbs[j]! - ref.topProbs[j]!)); }
          console.log(`  ${name}: max|dlogprob| ${d.toExponential(1)}, max|dentropy| ${de.toExponential(1)} bits, rank mismatches ${rk}, top-id mismatches ${ti}/${ref.topIds.length}, max|dtopP| ${dp.toExponential(1)}`);
        }
      }
    }
    const e = median(times.get('engine')!);
    console.log(`${text.kind} ${ids.length} tokens, median of ${REPS}:`);
    for (const [name] of variants) {
      const m = median(times.get(name)!);
      console.log(`  ${name.padEnd(13)} ${m.toFixed(0).padStart(6)} ms  ${(ids.length / m * 1000).toFixed(0).padStart(6)} tok/s  x${(e / m).toFixed(2)} vs engine`);
    }
  }
})();
