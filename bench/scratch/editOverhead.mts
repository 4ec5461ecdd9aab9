// The parts of an edit re-score outside the ONNX runs: incremental tokenization, the rest of scoreTokens.
import { LanguageModel } from '../../src/core/engine';
import { summarise } from '../../src/core/summary';
import { benchTexts } from '../texts';
const lm = await LanguageModel.load('models/default', { threads: 2 });
const graph = (lm as unknown as { graph: { forwardScored: (...a: unknown[]) => Promise<unknown> } }).graph;
const original = graph.forwardScored.bind(graph);
let inRuns = 0;
graph.forwardScored = async (...a: unknown[]) => { const t = performance.now(); const r = await original(...a); inRuns += performance.now() - t; return r; };
const text = benchTexts(lm.tokenizer, [2000]).find((t) => t.kind === 'prose')!.text;
const base = await lm.score(text);
const at = base.starts[Math.floor(0.9 * base.tokenCount)]!;
const variant = (i: number) => text.slice(0, at) + (i % 2 ? 'q' : 'z') + text.slice(at + 1);
let previous = await lm.score(variant(0));
let previousText = variant(0);
const rows: number[][] = [];
for (let i = 1; i <= 21; i++) {
  const next = variant(i);
  let t = performance.now();
  const tokens = lm.tokenizer.encodeEdited(previous, previousText, next);
  const tokenize = performance.now() - t;
  t = performance.now(); summarise(previous.logprobs, next); const summary = performance.now() - t;
  inRuns = 0;
  t = performance.now();
  previous = await lm.score(next, { previous });
  const total = performance.now() - t;
  previousText = next;
  rows.push([total, inRuns, tokenize, summary]);
}
const med = (k: number) => [...rows.map((r) => r[k]!)].sort((a, b) => a - b)[rows.length >> 1]!.toFixed(2);
console.log(`edit ${med(0)} ms: ONNX runs ${med(1)} ms, encodeEdited ${med(2)} ms, summarise ${med(3)} ms`);
await lm.dispose();
