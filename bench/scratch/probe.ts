import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
import { ReferenceScorer } from '../reference';
const M = process.argv[2] ?? 'models/default';
(async () => {
  let t = performance.now();
  const lm = await LanguageModel.load(M, { threads: 2 });
  console.log('load', performance.now() - t, lm.info);
  const texts = benchTexts(lm.tokenizer, [500, 2000]);
  for (const x of texts) console.log(x.kind, x.tokens, x.text.length);
  t = performance.now();
  const ref = await ReferenceScorer.load(M, 2);
  console.log('ref load', performance.now() - t);
  for (const x of texts) {
    const ids = ref.tokenize(x.text);
    const ours = lm.tokenize(x.text).ids;
    console.log('same ids', ids.length === ours.length && ids.every((v, i) => v === ours[i]));
    for (let rep = 0; rep < 2; rep++) {
      t = performance.now(); const a = await lm.score(x.text); const ta = performance.now() - t;
      t = performance.now(); const b = await ref.score(x.text, a.windowSize, a.stride, 10); const tb = performance.now() - t;
      let d = 0, dr = 0, dt = 0, de = 0;
      for (let j = 0; j < a.tokenCount; j++) { d = Math.max(d, Math.abs(a.logprobs[j]! - b.logprobs[j]!)); if (a.ranks[j] !== b.ranks[j]) dr++; de = Math.max(de, Math.abs(a.entropies[j]! - b.entropies[j]!)); }
      for (let j = 0; j < a.topIds.length; j++) if (a.topIds[j] !== b.topIds[j]) dt++;
      console.log(x.kind, x.tokens, 'ours', ta.toFixed(0), 'ref', tb.toFixed(0), 'ratio', (tb / ta).toFixed(2), 'maxdiff', d.toExponential(2), 'rankdiff', dr, 'topdiff', dt, 'entdiff', de.toExponential(2));
    }
  }
})();
