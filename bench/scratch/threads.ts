/**
 * Today's engine with 1 vs 2 intra-op threads (the surprisalLens.threads setting) on full
 * scoring, two LanguageModels in one process, interleaved, medians. On this VM the two vCPUs
 * share one core's FMA pipes (bench/fmapeak.c: 1 thread ~ 2 threads), so the second
 * thread is expected to add little.
 * Usage: node --import tsx bench/scratch/threads.ts [model] [tokens]
 */
import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
import { median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const N = Number(process.argv[3] ?? 2000);
(async () => {
  const models = { 1: await LanguageModel.load(M, { threads: 1 }), 2: await LanguageModel.load(M, { threads: 2 }) };
  for (const text of benchTexts(models[1].tokenizer, [N])) {
    const times: Record<number, number[]> = { 1: [], 2: [] };
    for (let rep = 0; rep < 7; rep++) for (const th of rep % 2 ? [2, 1] : [1, 2]) {
      const t = performance.now();
      await models[th as 1 | 2].score(text.text);
      if (rep > 0) times[th]!.push(performance.now() - t);
    }
    console.log(`${text.kind} ${text.tokens}: 1 thread ${median(times[1]!).toFixed(0)} ms, 2 threads ${median(times[2]!).toFixed(0)} ms (x${(median(times[1]!) / median(times[2]!)).toFixed(2)} from the second thread)`);
  }
})();
