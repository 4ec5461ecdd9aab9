/**
 * predictNext at a cursor deep in a long document: how much is tokenizing the whole text
 * before the cursor, how much the forward pass (all 256 logits rows computed, one used), and
 * what tokenizing only a tail of the context would give (same ids for the last window?).
 * Usage: node --import tsx bench/scratch/nextSplit.ts [model]
 */
import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
import { median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const text = benchTexts(lm.tokenizer, [8000]).find((t) => t.kind === 'prose')!.text;
  const offsets = Array.from({ length: 21 }, (_, i) => Math.floor(text.length * (0.3 + 0.033 * i)));
  const tok: number[] = [], tail: number[] = [], fwd: number[] = [], total: number[] = [];
  let sameTail = 0;
  const graph = (lm as any).graph;
  for (const offset of offsets) {
    const ctx = text.slice(0, offset);
    let t = performance.now();
    const ids = lm.tokenize(ctx).ids;
    tok.push(performance.now() - t);
    // Tail tokenization: 16 chars per token of the window is far more than BPE ever needs here;
    // drop the first (possibly cut) token.
    t = performance.now();
    const tailIds = lm.tokenize(ctx.slice(Math.max(0, ctx.length - 255 * 16))).ids.subarray(1);
    tail.push(performance.now() - t);
    const a = ids.subarray(ids.length - 255), b = tailIds.subarray(tailIds.length - 255);
    if (a.length === b.length && a.every((x, i) => x === b[i])) sameTail++;
    const seq = [0, ...a];
    t = performance.now();
    await graph.forward(seq, null, false);
    fwd.push(performance.now() - t);
    t = performance.now();
    await lm.predictNext(ctx, 10);
    total.push(performance.now() - t);
  }
  console.log(`predictNext at ${offsets.length} cursors in an 8,000-token text (medians): total ${median(total).toFixed(1)} ms = tokenize whole prefix ${median(tok).toFixed(1)} ms + forward of 256 positions ${median(fwd).toFixed(1)} ms (+ top-k); tokenizing only the last ${255 * 16} chars: ${median(tail).toFixed(1)} ms, same last-window ids at ${sameTail}/${offsets.length} cursors`);
})();
