/**
 * Today's engine with its ScoreHead session on 1 intra-op thread (as shipped) vs 2 threads,
 * swapped into the same LanguageModel, interleaved, medians.
 * Usage: node --import tsx bench/scratch/headThreads.ts [model] [tokens]
 */
import { LanguageModel } from '../../src/core/engine';
import { findScoreHead, ScoreHead } from '../../src/core/scoreHead';
import { benchTexts } from '../texts';
import { median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const N = Number(process.argv[3] ?? 2000);
(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const path = findScoreHead(require('node:path').join(__dirname, '..', '..', 'src', 'core'));
  if (!path) throw new Error('no media/score-head.onnx');
  const heads = { '1 thread': await ScoreHead.load(path, 1), '2 threads': await ScoreHead.load(path, 2) };
  const inner = lm as unknown as { head: ScoreHead };
  for (const text of benchTexts(lm.tokenizer, [N])) {
    const times: Record<string, number[]> = { '1 thread': [], '2 threads': [] };
    for (let rep = 0; rep < 7; rep++) for (const name of rep % 2 ? ['2 threads', '1 thread'] : ['1 thread', '2 threads']) {
      inner.head = heads[name as keyof typeof heads];
      const t = performance.now();
      await lm.score(text.text);
      if (rep > 0) times[name]!.push(performance.now() - t);
    }
    console.log(`${text.kind} ${text.tokens}: ScoreHead on 1 thread ${median(times['1 thread']!).toFixed(0)} ms, on 2 threads ${median(times['2 threads']!).toFixed(0)} ms`);
  }
})();
