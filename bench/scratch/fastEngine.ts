/**
 * A prototype of the recommended engine changes (scratch; the real engine is src/core):
 *  - the scoring graph (bench/.cache/fused.onnx from make_graphs.py) computes ln P(target),
 *    rank, entropy and top-k inside ONNX Runtime, and its LM head runs only on the last
 *    `keep` positions of each window (the rows that are scored), so no full-vocabulary
 *    logits row is ever copied into JavaScript;
 *  - the full windows after the first (all the same length) go through the graph `batch`
 *    at a time along the batch dimension.
 * Same window grid, same outputs and the same incremental re-scoring rule as
 * LanguageModel.scoreTokens; `predictNext` uses keep = 1.
 */
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DocumentScores, LanguageModel } from '../../src/core/engine';
import { summarise } from '../../src/core/summary';
import { feeds, type GraphShape } from './graphRun';

const STATS = ['logprob', 'rank', 'entropy', 'top_logprobs', 'top_ids'];

export class FastScorer {
  private constructor(
    private readonly lm: LanguageModel,
    private readonly session: ort.InferenceSession,
    private readonly shape: GraphShape,
    readonly k: number,
  ) {}

  static async load(lm: LanguageModel, fusedGraph: string, threads: number, k = 10): Promise<FastScorer> {
    const c = JSON.parse(readFileSync(join(lm.info.path, 'config.json'), 'utf8'));
    const session = await ort.InferenceSession.create(fusedGraph, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    return new FastScorer(lm, session, { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head }, k);
  }

  async score(text: string, options: { previous?: DocumentScores; batch?: number } = {}): Promise<DocumentScores> {
    const tokens = this.lm.tokenize(text);
    const ids = tokens.ids;
    const n = ids.length;
    const k = this.k;
    const batch = options.batch ?? 4;
    const logprobs = new Float64Array(n).fill(NaN);
    const ranks = new Int32Array(n);
    const entropies = new Float32Array(n).fill(NaN);
    const topIds = new Int32Array(n * k).fill(-1);
    const topProbs = new Float32Array(n * k);
    const window = this.lm.info.windowSize;
    const per = window - 1; // BOS model
    const stride = Math.floor(window / 2);
    const bos = this.lm.info.bosTokenId ?? 0;
    let reused = 0;
    const prev = options.previous;
    if (prev && prev.topK === k && prev.windowSize === window && prev.stride === stride) {
      const limit = Math.min(prev.tokenCount, n);
      while (reused < limit && prev.ids[reused] === ids[reused] && prev.starts[reused] === tokens.starts[reused] && prev.ends[reused] === tokens.ends[reused]) reused++;
      logprobs.set(prev.logprobs.subarray(0, reused));
      ranks.set(prev.ranks.subarray(0, reused));
      entropies.set(prev.entropies.subarray(0, reused));
      topIds.set(prev.topIds.subarray(0, reused * k));
      topProbs.set(prev.topProbs.subarray(0, reused * k));
    }
    let start = 0;
    while (start + per < n && start + per <= reused) start += stride;
    // The windows still to run: [start, end, first scored token].
    const todo: [number, number, number][] = [];
    for (let scored = reused; scored < n; start += stride) {
      const end = Math.min(start + per, n);
      todo.push([start, end, Math.max(scored, start)]);
      scored = end;
    }
    const put = (res: ort.InferenceSession.OnnxValueMapType, row0: number, first: number, count: number) => {
      const lp = res.logprob!.data as Float32Array;
      const rk = res.rank!.data as Float32Array;
      const en = res.entropy!.data as Float32Array;
      const tl = res.top_logprobs!.data as Float32Array;
      const ti = res.top_ids!.data as BigInt64Array;
      for (let q = 0; q < count; q++) {
        const j = first + q;
        const r = row0 + q;
        logprobs[j] = lp[r]!;
        ranks[j] = rk[r]!;
        entropies[j] = Math.max(0, en[r]!) / Math.LN2;
        for (let t = 0; t < k; t++) {
          topIds[j * k + t] = Number(ti[r * k + t]!);
          topProbs[j * k + t] = Math.exp(tl[r * k + t]!);
        }
      }
    };
    // Group windows of equal shape (same length and same number of scored rows) into batches.
    for (let i = 0; i < todo.length; ) {
      const [s0, e0, f0] = todo[i]!;
      const len = e0 - s0;
      const keep = e0 - f0 + 1; // scored rows + the window's last row (predicts past the window)
      let j = i + 1;
      while (j < todo.length && j - i < batch && todo[j]![1] - todo[j]![0] === len && todo[j]![1] - todo[j]![2] + 1 === keep) j++;
      const group = todo.slice(i, j);
      const seqs = group.map(([s, e]) => [bos, ...ids.subarray(s, e)]);
      const targets = new BigInt64Array(group.length * keep);
      group.forEach(([, e, f], b) => {
        for (let q = 0; q < e - f; q++) targets[b * keep + q] = BigInt(ids[f + q]!);
      });
      const res = await this.session.run(
        feeds(this.shape, seqs, { keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), [1]), targets: new ort.Tensor('int64', targets, [group.length, keep]) }),
        STATS,
      );
      group.forEach(([, e, f], b) => put(res, b * keep, f, e - f));
      i = j;
    }
    return {
      tokenCount: n, ids, starts: tokens.starts, ends: tokens.ends, logprobs, ranks, entropies, topK: k, topIds, topProbs,
      exactOffsets: tokens.exactOffsets, summary: summarise(logprobs, text), reusedTokens: reused, cachedPositions: 0, windowSize: window, stride,
    };
  }

  /** Top-k of the next token after `context` (tokenizing only a tail of it). */
  async predictNext(context: string, tailChars = 0): Promise<{ ids: number[]; probs: number[] }> {
    const window = this.lm.info.windowSize;
    const cut = tailChars > 0 && context.length > tailChars;
    let ids = this.lm.tokenize(cut ? context.slice(context.length - tailChars) : context).ids;
    if (cut) ids = ids.subarray(1); // the first token may be a cut piece
    const seq = [this.lm.info.bosTokenId ?? 0, ...ids.subarray(Math.max(0, ids.length - (window - 1)))];
    const res = await this.session.run(
      feeds(this.shape, [seq], { keep: new ort.Tensor('int64', BigInt64Array.from([1n]), [1]), targets: new ort.Tensor('int64', new BigInt64Array(1), [1, 1]) }),
      ['top_logprobs', 'top_ids', 'entropy'],
    );
    const tl = res.top_logprobs!.data as Float32Array;
    const ti = res.top_ids!.data as BigInt64Array;
    return { ids: Array.from(ti, Number), probs: Array.from(tl, Math.exp) };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
