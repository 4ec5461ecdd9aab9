// Time of each ONNX run in an edit re-score vs a full scoring (in-graph scoring).
import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
const lm = await LanguageModel.load('models/default', { threads: 2 });
const graph = (lm as unknown as { graph: { forwardScored: (...a: unknown[]) => Promise<unknown> } }).graph;
const original = graph.forwardScored.bind(graph);
let runs: string[] = [];
graph.forwardScored = async (...a: unknown[]) => {
  const t = performance.now();
  const r = await original(...a);
  const seqs = a[0] as number[][];
  runs.push(`${seqs.length}x${seqs[0]!.length}${a[1] ? `+past${(a[1] as { length: number }).length}` : ''} ${(performance.now() - t).toFixed(1)}ms`);
  return r;
};
const text = benchTexts(lm.tokenizer, [2000]).find((t) => t.kind === 'prose')!.text;
const base = await lm.score(text);
const at = base.starts[Math.floor(0.9 * base.tokenCount)]!;
const variant = (i: number) => text.slice(0, at) + (i % 2 ? 'q' : 'z') + text.slice(at + 1);
let previous = await lm.score(variant(0));
for (let i = 1; i <= 6; i++) {
  runs = [];
  const t = performance.now();
  previous = await lm.score(variant(i), { previous });
  console.log('edit', (performance.now() - t).toFixed(1), runs.join(', '));
}
runs = [];
let t = performance.now();
await lm.score(variant(9));
console.log('full', (performance.now() - t).toFixed(1), runs.join(', '));
await lm.dispose();
