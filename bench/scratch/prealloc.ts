/**
 * Pre-allocated output: session.run(feeds, { logits: tensorWeOwn }) writes the logits into
 * one reused 8 MB buffer instead of a fresh ArrayBuffer per window (less GC, lower peak RSS).
 * Time per 256-token window and RSS growth over 62 windows, each way in a fresh process.
 * Usage: node --import tsx bench/scratch/prealloc.ts
 */
import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { feeds, median } from './graphRun';

const rss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
async function child(mode: string) {
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const s = await ort.InferenceSession.create('models/default/onnx/model.onnx', { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const ids = Array.from({ length: 256 }, (_, i) => (i * 37) % 8000);
  const out = new ort.Tensor('float32', new Float32Array(256 * c.vocab_size), [1, 256, c.vocab_size]);
  await s.run(feeds(shape, [ids]), ['logits']);
  const before = rss();
  const times: number[] = [];
  let check = 0;
  for (let w = 0; w < 62; w++) {
    const t = performance.now();
    const r = mode === 'prealloc' ? await s.run(feeds(shape, [ids]), { logits: out }) : await s.run(feeds(shape, [ids]), ['logits']);
    check += (r.logits!.data as Float32Array)[5]!;
    times.push(performance.now() - t);
  }
  console.log(JSON.stringify({ ms: median(times), growth: rss() - before, peak: rss(), check, same: mode === 'prealloc' ? undefined : undefined }));
}
if (process.argv[2]) void child(process.argv[2]);
else {
  const res: Record<string, { ms: number; growth: number; peak: number }[]> = { fresh: [], prealloc: [] };
  for (let i = 0; i < 3; i++) for (const m of ['fresh', 'prealloc']) res[m]!.push(JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', __filename, m], { encoding: 'utf8' }).trim()));
  for (const m of ['fresh', 'prealloc']) console.log(`${m.padEnd(9)} window ${median(res[m]!.map((x) => x.ms)).toFixed(1)} ms, peak RSS growth over 62 windows ${median(res[m]!.map((x) => x.growth)).toFixed(0)} MB, peak ${median(res[m]!.map((x) => x.peak)).toFixed(0)} MB`);
}
