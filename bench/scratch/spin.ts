// After session.run returns, do ORT's intra-op threads keep spinning (stealing a core from
// the JS thread or another session)? Times a fixed JS loop right after a run vs after a pause.
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { feeds, median } from './graphRun';
const loop = () => { const t = performance.now(); let x = 0; for (let i = 0; i < 3e6; i++) x += Math.exp(i * 1e-9); return [performance.now() - t, x][0]!; };
(async () => {
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  for (const spin of ['1', '0']) {
    const s = await ort.InferenceSession.create('models/default/onnx/model.onnx', { intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: spin } } } });
    const ids = Array.from({ length: 256 }, (_, i) => i);
    const after: number[] = [], paused: number[] = [];
    for (let i = 0; i < 12; i++) {
      await s.run(feeds(shape, [ids]), ['logits']);
      after.push(loop());
      await new Promise((r) => setTimeout(r, 150));
      paused.push(loop());
    }
    console.log(`allow_spinning=${spin}: JS loop right after a run ${median(after).toFixed(1)} ms, after a 150 ms pause ${median(paused).toFixed(1)} ms`);
    await s.release();
  }
})();
