/**
 * Edit re-score with the key/value cache of the edited window's unchanged prefix: what a
 * re-score after a 1-character edit at token 1800 of 2000 would cost if the worker kept the
 * KV cache of the window it re-ran last time (typing goes on in the same window).
 * Windows (256 with BOS, stride 128): the edit falls in window 1664 (positions 0..135 of it
 * unchanged) and window 1792 must run too. Compares, with the fused graph (statistics in
 * graph, keep = scored rows):
 *   today's incremental work: window 1664 in full (256 positions) + window 1792 (209)
 *   with the prefix cache:    window 1664 from position 136 on, past = 136 cached positions, + window 1792
 * Usage: node --import tsx bench/scratch/editKv.ts
 */
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { feeds, median } from './graphRun';

(async () => {
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const s = await ort.InferenceSession.create(join(__dirname, '..', '.cache', 'fused.onnx'), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const STATS = ['logprob', 'rank', 'entropy', 'top_logprobs', 'top_ids'];
  const presents = Array.from({ length: shape.layers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat();
  const w1 = Array.from({ length: 256 }, (_, i) => (i * 41 + 3) % 8000);
  const w2 = Array.from({ length: 209 }, (_, i) => (i * 43 + 5) % 8000);
  const kt = (keep: number) => ({ keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), [1]), targets: new ort.Tensor('int64', new BigInt64Array(keep), [1, keep]) });
  // The cached prefix: positions 0..135 of window 1664, from its previous run.
  const pre = await s.run(feeds(shape, [w1.slice(0, 136)], kt(1)), presents);
  const past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < shape.layers; i++) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = pre[`present.${i}.${kv}`]!;
  const tail = w1.slice(136);
  const withPast = () => {
    const f = feeds(shape, [tail], kt(tail.length));
    const pos = new BigInt64Array(tail.length).map((_, i) => BigInt(136 + i));
    f.position_ids = new ort.Tensor('int64', pos, [1, tail.length]);
    f.attention_mask = new ort.Tensor('int64', new BigInt64Array(256).fill(1n), [1, 256]);
    Object.assign(f, past);
    return f;
  };
  const today: number[] = [], cached: number[] = [];
  for (let rep = 0; rep < 17; rep++) {
    let t = performance.now();
    await s.run(feeds(shape, [w1], kt(120)), STATS);
    await s.run(feeds(shape, [w2], kt(82)), STATS);
    if (rep > 1) today.push(performance.now() - t);
    t = performance.now();
    await s.run(withPast(), STATS);
    await s.run(feeds(shape, [w2], kt(82)), STATS);
    if (rep > 1) cached.push(performance.now() - t);
  }
  console.log(`edit re-score model work (fused graph): two windows ${median(today).toFixed(1)} ms; with the edited window's 136-position prefix from a KV cache ${median(cached).toFixed(1)} ms (x${(median(today) / median(cached)).toFixed(2)})`);
})();
