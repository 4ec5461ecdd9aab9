/**
 * ONNX Runtime session options for the scoring forward pass (one 256-token window of
 * model.onnx, logits fetched), round-robin over the variants so that the machine's load
 * hits them alike; median ms per window and session-creation time.
 * Usage: node --import tsx bench/scratch/sessionOptions.ts [model] [reps] [graph]
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { feeds, median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const REPS = Number(process.argv[3] ?? 15);
const GRAPH = process.argv[4] ?? join(M, 'onnx', 'model.onnx');
const c = JSON.parse(readFileSync(join(M, 'config.json'), 'utf8'));
const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
const T = Math.min(256, c.n_positions);
const base: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential' };
const variants: [string, ort.InferenceSession.SessionOptions][] = [
  ['engine (all, 2 threads)', base],
  ['level disabled', { ...base, graphOptimizationLevel: 'disabled' }],
  ['level basic', { ...base, graphOptimizationLevel: 'basic' }],
  ['level extended', { ...base, graphOptimizationLevel: 'extended' }],
  ['1 thread', { ...base, intraOpNumThreads: 1 }],
  ['threads 0 (auto)', { ...base, intraOpNumThreads: 0 }],
  ['no cpu mem arena', { ...base, enableCpuMemArena: false }],
  ['no mem pattern', { ...base, enableMemPattern: false }],
  ['parallel, inter 2', { ...base, executionMode: 'parallel', interOpNumThreads: 2 }],
  ['no spinning', { ...base, extra: { session: { intra_op: { allow_spinning: '0' } } } }],
];
(async () => {
  const sessions: ort.InferenceSession[] = [];
  const loads: number[] = [];
  for (const [, o] of variants) { const t = performance.now(); sessions.push(await ort.InferenceSession.create(GRAPH, o)); loads.push(performance.now() - t); }
  const ids = Array.from({ length: T }, (_, i) => (i * 37) % 8000);
  const times: number[][] = variants.map(() => []);
  for (let rep = 0; rep < REPS + 2; rep++) {
    for (let v = 0; v < variants.length; v++) {
      const f = feeds(shape, [ids]);
      const t = performance.now();
      await sessions[v]!.run(f, ['logits']);
      if (rep >= 2) times[v]!.push(performance.now() - t);
    }
  }
  const e = median(times[0]!);
  console.log(`${GRAPH}: one ${T}-token window, median of ${REPS}`);
  variants.forEach(([name], v) => console.log(`  ${name.padEnd(24)} ${median(times[v]!).toFixed(1).padStart(7)} ms/window  x${(e / median(times[v]!)).toFixed(2)}  session create ${loads[v]!.toFixed(0)} ms`));
})();
