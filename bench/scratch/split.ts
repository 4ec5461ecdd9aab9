// Where does full scoring spend its time: the ONNX run or the JS post-processing (analyseRow)?
import { LanguageModel } from '../../src/core/engine';
import { analyseRow } from '../../src/core/distribution';
import { benchTexts } from '../texts';
const M = process.argv[2] ?? 'models/default';
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const graph = (lm as any).graph;
  const [text] = benchTexts(lm.tokenizer, [2000]);
  const ids = lm.tokenize(text!.text).ids;
  const win = lm.info.windowSize; const stride = win / 2; const k = 10; const V = lm.info.vocabSize;
  const topIds = new Int32Array(k), topProbs = new Float32Array(k);
  const fw: number[] = [], an: number[] = [], tot: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    let f = 0, a = 0; const t0 = performance.now();
    for (let start = 0; ; start += stride) {
      const end = Math.min(start + win - 1, ids.length);
      const seq = [0, ...ids.subarray(start, end)];
      let t = performance.now();
      const { logits } = await graph.forward(seq, null, false);
      f += performance.now() - t; t = performance.now();
      const first = start === 0 ? 0 : start + win - 1 - stride;
      for (let j = first; j < end; j++) analyseRow(logits, (j - start) * V, V, ids[j]!, V, topIds, topProbs, 0, k);
      a += performance.now() - t;
      if (end === ids.length) break;
    }
    fw.push(f); an.push(a); tot.push(performance.now() - t0);
  }
  console.log(`2000 tokens: total ${median(tot).toFixed(0)} ms, ONNX forward ${median(fw).toFixed(0)} ms, analyseRow ${median(an).toFixed(0)} ms (${(100 * median(an) / median(tot)).toFixed(0)}%), per token analyseRow ${(1000 * median(an) / ids.length).toFixed(1)} us`);
})();
