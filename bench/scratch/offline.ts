/**
 * Session creation time, RSS and window time for the model as exported vs. pre-optimised
 * offline (ORT's optimizedModelFilePath at 'extended'/'all', reloaded with optimisation
 * disabled), each in a fresh process, 5 runs, medians.
 * Usage: node --import tsx bench/scratch/offline.ts [model]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { feeds, median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const CACHE = join(__dirname, '..', '.cache');
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

async function child(graph: string, level: string) {
  const r0 = rss();
  const t = performance.now();
  const s = await ort.InferenceSession.create(graph, { executionProviders: ['cpu'], graphOptimizationLevel: level as never, intraOpNumThreads: 2, interOpNumThreads: 1 });
  const create = performance.now() - t;
  const r1 = rss();
  const c = JSON.parse(readFileSync(join(M, 'config.json'), 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const ids = Array.from({ length: 256 }, (_, i) => (i * 37) % 8000);
  const times: number[] = [];
  for (let i = 0; i < 8; i++) { const t0 = performance.now(); await s.run(feeds(shape, [ids]), ['logits']); if (i) times.push(performance.now() - t0); }
  console.log(JSON.stringify({ create, sessionMb: r1 - r0, hwm: hwm(), window: median(times) }));
}

(async () => {
  if (process.argv[3]) return child(process.argv[3], process.argv[4]!);
  const original = join(M, 'onnx', 'model.onnx');
  for (const level of ['extended', 'all']) {
    const out = join(CACHE, `model.opt-${level}.onnx`);
    if (!existsSync(out)) await ort.InferenceSession.create(original, { graphOptimizationLevel: level as never, optimizedModelFilePath: out });
  }
  const variants: [string, string, string][] = [
    ['as exported, level all (engine)', original, 'all'],
    ['as exported, level extended', original, 'extended'],
    ['pre-optimised (extended), level disabled', join(CACHE, 'model.opt-extended.onnx'), 'disabled'],
    ['pre-optimised (extended), level all', join(CACHE, 'model.opt-extended.onnx'), 'all'],
    ['pre-optimised (all), level disabled', join(CACHE, 'model.opt-all.onnx'), 'disabled'],
  ];
  const rows = variants.map(() => [] as { create: number; sessionMb: number; hwm: number; window: number }[]);
  for (let rep = 0; rep < 5; rep++) {
    variants.forEach(([, g, l], v) => rows[v]!.push(JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', __filename, M, g, l], { encoding: 'utf8' }).trim().split('\n').pop()!)));
  }
  variants.forEach(([name], v) => {
    const r = rows[v]!;
    console.log(`${name.padEnd(42)} create ${median(r.map((x) => x.create)).toFixed(0).padStart(4)} ms, session +${median(r.map((x) => x.sessionMb)).toFixed(0)} MB RSS, peak ${median(r.map((x) => x.hwm)).toFixed(0)} MB, window ${median(r.map((x) => x.window)).toFixed(1)} ms`);
  });
})();
