/**
 * Where full scoring spends its time in today's engine: the model graph's forward pass
 * (ONNX run + logits copied out), the statistics (the ScoreHead graph when the engine
 * found media/score-head.onnx, else JavaScript analyseRow), and everything else.
 * Wraps the engine's private graph/head objects with timers (scratch only).
 * Usage: node --import tsx bench/scratch/split.ts [model] [tokens]
 */
import { LanguageModel } from '../../src/core/engine';
import { analyseRow } from '../../src/core/distribution';
import { benchTexts } from '../texts';
import { median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const N = Number(process.argv[3] ?? 2000);
(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const inner = lm as unknown as { graph: { forward: (...a: unknown[]) => Promise<unknown> }; head: { run: (...a: unknown[]) => Promise<unknown> } | null };
  let fw = 0, hd = 0;
  const f0 = inner.graph.forward.bind(inner.graph);
  inner.graph.forward = async (...a) => { const t = performance.now(); const r = await f0(...a); fw += performance.now() - t; return r; };
  if (inner.head) {
    const h0 = inner.head.run.bind(inner.head);
    inner.head.run = async (...a) => { const t = performance.now(); const r = await h0(...a); hd += performance.now() - t; return r; };
  }
  for (const text of benchTexts(lm.tokenizer, [N])) {
    const tot: number[] = [], fws: number[] = [], hds: number[] = [];
    for (let rep = 0; rep < 6; rep++) {
      fw = 0; hd = 0;
      const t = performance.now();
      await lm.score(text.text);
      if (rep === 0) continue;
      tot.push(performance.now() - t); fws.push(fw); hds.push(hd);
    }
    const T = median(tot), F = median(fws), H = median(hds);
    console.log(`${text.kind} ${text.tokens} tokens, today's engine (${inner.head ? 'ScoreHead graph, 1 thread' : 'JavaScript analyseRow'}): total ${T.toFixed(0)} ms = ` +
      `model forward ${F.toFixed(0)} ms (${(100 * F / T).toFixed(0)}%) + statistics ${H.toFixed(0)} ms (${(100 * H / T).toFixed(0)}%) + rest (tokenize, loop) ${(T - F - H).toFixed(0)} ms`);
  }
  // The incremental re-score after a 1-character edit at 90% of the 2,000-token prose text.
  const two = benchTexts(lm.tokenizer, [2000]).find((t) => t.kind === 'prose')!.text;
  const base = await lm.score(two);
  const at = base.starts[1800]!;
  const variant = (i: number) => two.slice(0, at) + (i % 2 ? 'q' : 'z') + two.slice(at + 1);
  let prev = await lm.score(variant(0));
  const tot: number[] = [], fws: number[] = [], hds: number[] = [], tok: number[] = [];
  for (let rep = 1; rep <= 9; rep++) {
    fw = 0; hd = 0;
    let t = performance.now();
    lm.tokenize(variant(rep));
    tok.push(performance.now() - t);
    t = performance.now();
    prev = await lm.score(variant(rep), { previous: prev });
    tot.push(performance.now() - t); fws.push(fw); hds.push(hd);
  }
  const T = median(tot), F = median(fws), H = median(hds), K = median(tok);
  console.log(`edit re-score at token 1800 of 2000: total ${T.toFixed(1)} ms = model forward ${F.toFixed(1)} ms + statistics ${H.toFixed(1)} ms + tokenize the whole text ${K.toFixed(1)} ms + rest ${(T - F - H - K).toFixed(1)} ms; ` +
    `cached positions ${(prev as { cachedPositions?: number }).cachedPositions ?? 0}`);
  // The JavaScript fallback's cost per row, for comparison.
  const text = benchTexts(lm.tokenizer, [300])[0]!;
  const ids = [lm.info.bosTokenId ?? 0, ...lm.tokenize(text.text).ids.subarray(0, 255)];
  const { logits } = (await f0(ids, null, false)) as { logits: Float32Array };
  const V = lm.info.vocabSize, tIds = new Int32Array(10), tP = new Float32Array(10);
  const per: number[] = [];
  for (let rep = 0; rep < 5; rep++) { const t = performance.now(); for (let r = 0; r < 255; r++) analyseRow(logits, r * V, V, ids[r + 1]!, V, tIds, tP, 0, 10); per.push((performance.now() - t) / 255 * 1000); }
  console.log(`JavaScript analyseRow fallback: ${median(per).toFixed(0)} us per row (V = ${V})`);
})();
