/**
 * Where the worker's memory goes: RSS after each stage of loading the model and scoring the
 * 8,000-token prose text, each configuration in a fresh process (the engine's own settings,
 * then onnxruntime session variants driven directly with the engine's window loop).
 * Usage: node --import tsx bench/scratch/memory.ts [model]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const M = process.argv[2] ?? 'models/default';
const status = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const g = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]) / 1024;
  return { rss: g('VmRSS'), hwm: g('VmHWM') };
};

async function child(variant: string) {
  const stages: [string, number, number][] = [];
  const mark = (name: string) => { const s = status(); stages.push([name, s.rss, s.hwm]); };
  mark('start (node + tsx)');
  const ort = await import('onnxruntime-node');
  const { LanguageModel } = await import('../../src/core/engine');
  const { benchTexts } = await import('../texts');
  const { feeds } = await import('./graphRun');
  mark('modules loaded');
  if (variant === 'engine') {
    const lm = await LanguageModel.load(M, { threads: 2 });
    mark('LanguageModel.load');
    const text = benchTexts(lm.tokenizer, [8000]).find((t) => t.kind === 'prose')!;
    mark('texts built');
    await lm.score(text.text);
    mark('scored 8000 tokens');
  } else {
    const opts: Record<string, unknown> = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1 };
    if (variant.includes('noarena')) opts.enableCpuMemArena = false;
    if (variant.includes('noprepack')) opts.extra = { session: { disable_prepacking: '1' } };
    if (variant.includes('nopattern')) opts.enableMemPattern = false;
    const graph = variant.includes('fused') ? join(__dirname, '..', '.cache', 'fused.onnx') : join(M, 'onnx', 'model.onnx');
    const s = await ort.InferenceSession.create(graph, opts as never);
    mark('session created');
    const c = JSON.parse(readFileSync(join(M, 'config.json'), 'utf8'));
    const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
    for (let w = 0; w < 62; w++) {
      const ids = Array.from({ length: 256 }, (_, i) => (i * 31 + w) % 8000);
      if (variant.includes('fused')) {
        await s.run(feeds(shape, [ids], { keep: new ort.Tensor('int64', BigInt64Array.from([129n]), [1]), targets: new ort.Tensor('int64', new BigInt64Array(129), [1, 129]) }), ['logprob', 'rank', 'entropy', 'top_logprobs', 'top_ids']);
      } else {
        await s.run(feeds(shape, [ids]), ['logits']);
      }
    }
    mark('62 windows run');
  }
  console.log(JSON.stringify(stages));
}

if (process.argv[3]) {
  void child(process.argv[3]);
} else {
  for (const v of ['engine', 'ort', 'ort-noarena', 'ort-noprepack', 'ort-noarena-noprepack', 'ort-fused', 'ort-fused-noarena']) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, M, v], { encoding: 'utf8' });
    const stages = JSON.parse(out.trim().split('\n').pop()!) as [string, number, number][];
    console.log(`${v}: ${stages.map(([n, r, h]) => `${n} ${r.toFixed(0)}/${h.toFixed(0)}`).join(' | ')}  (RSS/peak MB)`);
  }
}
