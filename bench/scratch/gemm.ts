/**
 * ONNX Runtime SGEMM throughput on this machine (2 threads) for the model's matmul shapes and
 * a large square one: the practical ceiling to compare full scoring's GFLOP/s with.
 * Needs bench/.cache/gemm_*.onnx from make_gemm.py.  Usage: node --import tsx bench/scratch/gemm.ts
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { median } from './graphRun';

(async () => {
  for (const [K, N] of [[256, 768], [256, 1024], [1024, 256], [256, 8192], [1024, 1024]] as const) {
    const s = await ort.InferenceSession.create(join(__dirname, '..', '.cache', `gemm_${K}x${N}.onnx`), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    for (const M of [256, 1024, 2048]) {
      const a = new ort.Tensor('float32', new Float32Array(M * K).map((_, i) => (i % 7) / 7), [M, K]);
      const times: number[] = [];
      for (let i = 0; i < 12; i++) { const t = performance.now(); await s.run({ A: a }); if (i > 1) times.push(performance.now() - t); }
      const best = Math.min(...times), med = median(times);
      console.log(`M ${M} x K ${K} x N ${N}: median ${(2 * M * K * N / med / 1e6).toFixed(0)} GFLOP/s, best ${(2 * M * K * N / best / 1e6).toFixed(0)} GFLOP/s (includes copying C out to JS)`);
    }
  }
})();
