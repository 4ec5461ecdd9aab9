// analyseRow (src) vs analyseRowFast (scratch) on real logits rows of the default model.
import { LanguageModel } from '../../src/core/engine';
import { analyseRow } from '../../src/core/distribution';
import { analyseRowFast } from './analyseRowFast';
import { benchTexts } from '../texts';
const M = process.argv[2] ?? 'models/default';
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const [text] = benchTexts(lm.tokenizer, [500]);
  const ids = [0, ...lm.tokenize(text!.text).ids.subarray(0, 255)];
  const { logits } = await (lm as any).graph.forward(ids, null, false);
  const V = lm.info.vocabSize, k = 10, rows = 255;
  const a = { ids: new Int32Array(rows * k), p: new Float32Array(rows * k) }, b = { ids: new Int32Array(rows * k), p: new Float32Array(rows * k) };
  let mism = 0;
  for (let r = 0; r < rows; r++) {
    const x = analyseRow(logits, r * V, V, ids[r + 1]!, V, a.ids, a.p, r * k, k);
    const y = analyseRowFast(logits, r * V, V, ids[r + 1]!, V, b.ids, b.p, r * k, k);
    if (x.rank !== y.rank || Math.abs(x.logprob - y.logprob) > 1e-9 || Math.abs(x.entropyBits - y.entropyBits) > 1e-9) mism++;
  }
  for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i] || a.p[i] !== b.p[i]) mism++;
  const tA: number[] = [], tB: number[] = [];
  for (let rep = 0; rep < 9; rep++) {
    let t = performance.now();
    for (let r = 0; r < rows; r++) analyseRow(logits, r * V, V, ids[r + 1]!, V, a.ids, a.p, r * k, k);
    tA.push((performance.now() - t) / rows * 1000); t = performance.now();
    for (let r = 0; r < rows; r++) analyseRowFast(logits, r * V, V, ids[r + 1]!, V, b.ids, b.p, r * k, k);
    tB.push((performance.now() - t) / rows * 1000);
  }
  console.log(`per row (V=${V}): analyseRow ${median(tA).toFixed(1)} us, analyseRowFast ${median(tB).toFixed(1)} us, speed-up ${(median(tA) / median(tB)).toFixed(2)}x, mismatches ${mism}`);
})();
