/**
 * Usage: node --import tsx bench/scratch/compat.ts [compat|single]
 * The "compat" graph (make_graphs.py #3): model.onnx + in-graph statistics behind defaulted
 * inputs `keep`/`targets`. Checks that (1) transformers.js and our engine load it unchanged
 * and get the same logits as the original, (2) fetching only `logits` skips the statistics and
 * fetching only the statistics skips the full-vocabulary LM head (ORT runs only what the
 * fetches need), by timing against the original and the fused graph.
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { LanguageModel } from '../../src/core/engine';
import { ReferenceScorer } from '../reference';
import { benchTexts } from '../texts';
import { feeds, median } from './graphRun';

const CACHE = join(__dirname, '..', '.cache');
const WHICH = process.argv[2] ?? 'single';
(async () => {
  const orig = await LanguageModel.load('models/default', { threads: 2 });
  const comp = await LanguageModel.load(join(CACHE, `${WHICH}-model`), { threads: 2 });
  const text = benchTexts(orig.tokenizer, [500])[0]!.text;
  const a = await orig.score(text), b = await comp.score(text);
  let d = 0; for (let j = 0; j < a.tokenCount; j++) d = Math.max(d, Math.abs(a.logprobs[j]! - b.logprobs[j]!));
  console.log(`engine on ${WHICH} graph: max |dlogprob| vs original ${d.toExponential(1)}`);
  const ref = await ReferenceScorer.load(join(CACHE, `${WHICH}-model`), 2);
  const r = await ref.score(text, a.windowSize, a.stride, 10);
  d = 0; for (let j = 0; j < a.tokenCount; j++) d = Math.max(d, Math.abs(a.logprobs[j]! - r.logprobs[j]!));
  console.log(`transformers.js on ${WHICH} graph: loads, max |dlogprob| vs our engine on the original ${d.toExponential(1)}`);
  const c = JSON.parse(readFileSync('models/default/config.json', 'utf8'));
  const shape = { layers: c.n_layer, heads: c.n_head, headDim: c.n_embd / c.n_head };
  const o = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
  const sOrig = await ort.InferenceSession.create('models/default/onnx/model.onnx', o);
  const sComp = await ort.InferenceSession.create(join(CACHE, `${WHICH}.onnx`), o);
  const sFused = await ort.InferenceSession.create(join(CACHE, 'fused.onnx'), o);
  const ids = Array.from({ length: 256 }, (_, i) => (i * 37) % 8000);
  const extra = () => ({ keep: new ort.Tensor('int64', BigInt64Array.from([129n]), [1]), targets: new ort.Tensor('int64', new BigInt64Array(129), [1, 129]) });
  const STATS = ['logprob', 'rank', 'entropy', 'top_logprobs', 'top_ids'];
  const cases: [string, () => Promise<unknown>][] = [
    ['original, logits', () => sOrig.run(feeds(shape, [ids]), ['logits'])],
    [`${WHICH}, logits only (no keep/targets fed)`, () => sComp.run(feeds(shape, [ids]), ['logits'])],
    [`${WHICH}, statistics only (keep 129)`, () => sComp.run(feeds(shape, [ids], extra()), STATS)],
    ['fused, statistics (keep 129)', () => sFused.run(feeds(shape, [ids], extra()), STATS)],
  ];
  const times = cases.map(() => [] as number[]);
  for (let rep = 0; rep < 17; rep++) for (const [i, [, f]] of cases.entries()) { const t = performance.now(); await f(); if (rep > 1) times[i]!.push(performance.now() - t); }
  cases.forEach(([n], i) => console.log(`  ${n.padEnd(44)} ${median(times[i]!).toFixed(1)} ms per 256-token window`));
  // transformers.js generation through the KV cache still works on this graph.
  const tf = await import('@huggingface/transformers');
  const gen = await tf.AutoModelForCausalLM.from_pretrained(`${WHICH}-model`, { dtype: 'fp32', local_files_only: true });
  const tok = await tf.AutoTokenizer.from_pretrained(`${WHICH}-model`, { local_files_only: true });
  const inputs = tok('The President of the United States', { add_special_tokens: false });
  const out = await (gen as any).generate({ ...inputs, max_new_tokens: 8, do_sample: false });
  console.log(`transformers.js greedy generate on ${WHICH}: ${JSON.stringify(tok.decode(out[0], { skip_special_tokens: true }))}`);
  await ref.dispose();
})();
