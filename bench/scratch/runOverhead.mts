// Per-run cost by sequence length (in-graph scoring, default model, 2 threads): the fixed part of a run.
import { LanguageModel } from '../../src/core/engine';
const lm = await LanguageModel.load('models/default', { threads: Number(process.argv[2] ?? 2) });
const graph = (lm as unknown as { graph: { forwardScored: (s: number[][], p: null, k: boolean, t: BigInt64Array, topK: number, d: number, w: number) => Promise<unknown> } }).graph;
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
for (const [batch, len] of [[1, 8], [1, 32], [1, 64], [1, 128], [1, 210], [1, 256], [2, 256], [4, 256]]) {
  const seqs = Array.from({ length: batch }, () => Array.from({ length: len }, (_, i) => 100 + ((i * 7) % 5000)));
  const rows = Math.min(len, 129);
  const times: number[] = [];
  for (let r = 0; r < 12; r++) {
    const t = performance.now();
    await graph.forwardScored(seqs, null, false, new BigInt64Array(batch * rows), 10, 8192, 8192);
    if (r >= 2) times.push(performance.now() - t);
  }
  console.log(`${batch}x${len}: ${med(times).toFixed(2)} ms (${(med(times) / (batch * len)).toFixed(3)} ms/position)`);
}
await lm.dispose();
