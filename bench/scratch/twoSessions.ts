// Are two identical sessions in one process equally fast? (checks the side-by-side method)
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { feeds, median } from './graphRun';
(async () => {
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const o = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const, executionMode: 'sequential' as const };
  const ss = [await ort.InferenceSession.create('models/default/onnx/model.onnx', o), await ort.InferenceSession.create('models/default/onnx/model.onnx', o), await ort.InferenceSession.create('models/default/onnx/model.onnx', o)];
  const ids = Array.from({ length: 256 }, (_, i) => (i * 37) % 8000);
  const t: number[][] = ss.map(() => []);
  for (let rep = 0; rep < 20; rep++) for (let k = 0; k < ss.length; k++) { const i = (k + rep) % ss.length; const t0 = performance.now(); await ss[i]!.run(feeds(shape, [ids]), ['logits']); if (rep > 1) t[i]!.push(performance.now() - t0); }
  console.log(t.map((x, i) => `session ${i + 1}: ${median(x).toFixed(1)} ms`).join(', '));
})();
