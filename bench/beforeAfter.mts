/**
 * This checkout's engine against another checkout's (an earlier commit), side by side in one
 * process on the same model and text: full scoring and the next-word distribution, five
 * interleaved repetitions, medians and their ratio. For "no regression beyond noise" after
 * a restructuring:
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   node --import tsx bench/beforeAfter.mts /tmp/before
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const HERE = join(import.meta.dirname, '..');
const BEFORE = process.argv[2];
if (!BEFORE) throw new Error('usage: beforeAfter.mts <checkout to compare with>');
const NEW = await import(join(HERE, 'src/core/engine.ts'));
const OLD = await import(join(BEFORE, 'src/core/engine.ts'));
const NW_NEW = await import(join(HERE, 'src/core/nextWords.ts'));
const NW_OLD = await import(join(BEFORE, 'src/core/nextWords.ts'));
const fx = JSON.parse(readFileSync(join(HERE, 'test/fixtures/models/default-parity.json'), 'utf8'));
const base = fx.documents.map((d: { text: string }) => d.text).join('\n');
const text = (base + '\n' + base).slice(0, 24000);
const model = join(HERE, 'models/default');
const a = await NEW.LanguageModel.load(model, { threads: 2 });
const b = await OLD.LanguageModel.load(model, { threads: 2 });
await a.score(text.slice(0, 2000)); await b.score(text.slice(0, 2000));
const ta: number[] = [], tb: number[] = [], na: number[] = [], nb: number[] = [];
let tokens = 0;
for (let r = 0; r < 5; r++) {
  let t = performance.now(); const s = await a.score(text); ta.push(performance.now() - t); tokens = s.tokenCount;
  t = performance.now(); await b.score(text); tb.push(performance.now() - t);
  const ctx = text.slice(0, 3000 + r * 100);
  t = performance.now(); await NW_NEW.nextWordDistribution(a, ctx, { maxWords: 15 }); na.push(performance.now() - t);
  t = performance.now(); await NW_OLD.nextWordDistribution(b, ctx, { maxWords: 15 }); nb.push(performance.now() - t);
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[2]!;
console.log(`full scoring of ${tokens} tokens: after ${med(ta).toFixed(0)} ms, before ${med(tb).toFixed(0)} ms, ratio after/before ${(med(ta) / med(tb)).toFixed(3)}`);
console.log(`next-word distribution: after ${med(na).toFixed(0)} ms, before ${med(nb).toFixed(0)} ms, ratio ${(med(na) / med(nb)).toFixed(3)}`);
await a.dispose(); await b.dispose();
