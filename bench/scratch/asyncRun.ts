// Does onnxruntime-node's session.run block the JS thread (then JS post-processing cannot
// overlap the next window's run)?  Measures the time spent inside the run() call itself.
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { feeds } from './graphRun';
(async () => {
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const s = await ort.InferenceSession.create('models/default/onnx/model.onnx', { intraOpNumThreads: 2 });
  const ids = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0; i < 3; i++) {
    const f = feeds({ layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head }, [ids]);
    const t0 = performance.now();
    const p = s.run(f, ['logits']);
    const t1 = performance.now();
    await p;
    console.log(`run() call returned after ${(t1 - t0).toFixed(1)} ms, result after ${(performance.now() - t0).toFixed(1)} ms`);
  }
})();
