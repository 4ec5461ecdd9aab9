// Where the time of an edit re-score goes (in-graph scoring): tokenize vs the rest.
import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
import { summarise } from '../../src/core/summary';
const lm = await LanguageModel.load('models/default', { threads: 2 });
const text = benchTexts(lm.tokenizer, [2000]).find((t) => t.kind === 'prose')!.text;
const base = await lm.score(text);
const at = base.starts[Math.floor(0.9 * base.tokenCount)]!;
const variant = (i: number) => text.slice(0, at) + (i % 2 ? 'q' : 'z') + text.slice(at + 1);
let previous = await lm.score(variant(0));
const tok: number[] = [], edit: number[] = [], scoreTok: number[] = [], full: number[] = [], summ: number[] = [];
for (let i = 1; i <= 15; i++) {
  const next = variant(i);
  let t = performance.now(); const tokens = lm.tokenize(next); tok.push(performance.now() - t);
  t = performance.now(); const inc = await lm.scoreTokens(tokens, next, { previous }); scoreTok.push(performance.now() - t);
  t = performance.now(); summarise(inc.logprobs, next); summ.push(performance.now() - t);
  t = performance.now(); previous = await lm.score(next, { previous: inc === previous ? undefined : previous }); edit.push(performance.now() - t);
  t = performance.now(); await lm.score(next); full.push(performance.now() - t);
}
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!.toFixed(1);
console.log(`tokenize ${med(tok)} ms, scoreTokens(edit) ${med(scoreTok)} ms, summarise ${med(summ)} ms, score(edit) ${med(edit)} ms, full ${med(full)} ms`);
await lm.dispose();
