// Side by side: in-graph scoring (batched) vs the score-head path, default model, 2 threads.
import { LanguageModel } from '../../src/core/engine';
import { readFileSync } from 'node:fs';
const text = readFileSync('src/core/engine.ts', 'utf8') + readFileSync('README.md', 'utf8');
const a = await LanguageModel.load('models/default', { threads: 2 });
const b = await LanguageModel.load('models/default', { threads: 2, inGraphScoring: false });
const n = a.tokenize(text).ids.length;
console.log('tokens', n, 'in-graph', a.info.inGraphScoringUnavailable, 'off', b.info.inGraphScoringUnavailable);
const ta: number[] = [], tb: number[] = [];
let sa, sb;
for (let i = 0; i < 5; i++) {
  let t = performance.now(); sa = await a.score(text); ta.push(performance.now() - t);
  t = performance.now(); sb = await b.score(text); tb.push(performance.now() - t);
}
const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
let md = 0, rk = 0, tk = 0, en = 0;
for (let i = 0; i < n; i++) { if (!Number.isNaN(sa!.logprobs[i])) md = Math.max(md, Math.abs(sa!.logprobs[i] - sb!.logprobs[i])); if (sa!.ranks[i] !== sb!.ranks[i]) rk++; en = Math.max(en, Math.abs(sa!.entropies[i] - sb!.entropies[i]) || 0); }
for (let i = 0; i < sa!.topIds.length; i++) if (sa!.topIds[i] !== sb!.topIds[i]) tk++;
console.log(`median in-graph ${med(ta).toFixed(0)} ms, head ${med(tb).toFixed(0)} ms, x${(med(tb) / med(ta)).toFixed(2)}; max dlogprob ${md.toExponential(1)}, rank diffs ${rk}, top-id diffs ${tk}, max dentropy ${en.toExponential(1)}`);
await a.dispose(); await b.dispose();
