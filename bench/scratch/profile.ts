/**
 * ONNX Runtime's own profile of the scoring forward pass (one 256-token window of model.onnx,
 * 10 runs): time per operator type, to see how much of a window is matrix multiplication.
 * Usage: node --import tsx bench/scratch/profile.ts [graph]
 */
import * as ort from 'onnxruntime-node';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { feeds } from './graphRun';

(async () => {
  const graph = process.argv[2] ?? 'models/default/onnx/model.onnx';
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const prefix = join(__dirname, '..', '.cache', 'ortprofile');
  const s = await ort.InferenceSession.create(graph, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
  const ids = Array.from({ length: 256 }, (_, i) => (i * 37) % 8000);
  for (let i = 0; i < 10; i++) await s.run(feeds(shape, [ids]), ['logits']);
  s.endProfiling();
  await s.release();
  const { execSync } = await import('node:child_process');
  const file = execSync(`ls -t ${prefix}*.json | head -1`, { encoding: 'utf8' }).trim();
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  unlinkSync(file);
  const byOp = new Map<string, number>();
  const byNode = new Map<string, number>();
  let runs = 0, total = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') { runs++; total += e.dur; }
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    if (op === 'MatMul' || op === 'FusedMatMul') {
      const name = e.name.replace(/_kernel_time$/, '').replace(/h\.\d+/, 'h.*');
      byNode.set(name, (byNode.get(name) ?? 0) + e.dur);
    }
  }
  const kernels = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(`${graph}: ${runs} runs, ${(total / runs / 1000).toFixed(1)} ms per run, kernels ${(kernels / runs / 1000).toFixed(1)} ms`);
  for (const [op, d] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`  ${op.padEnd(28)} ${(d / runs / 1000).toFixed(2).padStart(7)} ms  ${(100 * d / kernels).toFixed(1)}%`);
  console.log('  matmuls by node (layers summed):');
  for (const [n, d] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`    ${n.padEnd(52)} ${(d / runs / 1000).toFixed(2).padStart(7)} ms`);
})();
