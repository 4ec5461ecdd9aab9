/**
 * The recommended engine changes, measured side by side with the current engine and
 * transformers.js (interleaved repetitions, medians): full scoring, edit re-score, next token.
 * Needs bench/.cache/fused.onnx (make_graphs.py).
 * Usage: node --import tsx bench/scratch/proposed.ts [model] [reps] [sizes]
 */
import { join } from 'node:path';
import { LanguageModel, type DocumentScores } from '../../src/core/engine';
import { ReferenceScorer } from '../reference';
import { benchTexts } from '../texts';
import { FastScorer } from './fastEngine';
import { median } from './graphRun';

const M = process.argv[2] ?? 'models/default';
const REPS = Number(process.argv[3] ?? 3);
const SIZES = (process.argv[4] ?? '500,2000,8000').split(',').map(Number);
const q95 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.ceil(0.95 * a.length) - 1)]!;

function diff(a: DocumentScores, b: DocumentScores): string {
  let d = 0, rk = 0, ti = 0;
  for (let j = 0; j < a.tokenCount; j++) { d = Math.max(d, Math.abs(a.logprobs[j]! - b.logprobs[j]!)); if (a.ranks[j] !== b.ranks[j]) rk++; }
  for (let j = 0; j < a.topIds.length; j++) if (a.topIds[j] !== b.topIds[j]) ti++;
  return `max|dlogprob| ${d.toExponential(1)}, rank mismatches ${rk}, top-id mismatches ${ti}`;
}

(async () => {
  const lm = await LanguageModel.load(M, { threads: 2 });
  const fast = await FastScorer.load(lm, join(__dirname, '..', '.cache', 'fused.onnx'), 2);
  const ref = await ReferenceScorer.load(M, 2);
  const texts = benchTexts(lm.tokenizer, SIZES);
  console.log('full scoring (median ms; tok/s; speed-up over the engine; over transformers.js)');
  for (const t of texts) {
    const names = ['engine', 'fused b1', 'fused b4', 'transformers.js'];
    const times: number[][] = names.map(() => []);
    let check = '';
    for (let rep = -1; rep < REPS; rep++) {
      let t0 = performance.now(); const e = await lm.score(t.text); const te = performance.now() - t0;
      t0 = performance.now(); const f1 = await fast.score(t.text, { batch: 1 }); const t1 = performance.now() - t0;
      t0 = performance.now(); const f4 = await fast.score(t.text, { batch: 4 }); const t4 = performance.now() - t0;
      t0 = performance.now(); await ref.score(t.text, e.windowSize, e.stride, 10); const tr = performance.now() - t0;
      if (rep < 0) { check = `b1: ${diff(e, f1)}; b4: ${diff(e, f4)}`; continue; }
      [te, t1, t4, tr].forEach((x, i) => times[i]!.push(x));
    }
    const m = times.map(median);
    console.log(`  ${t.kind} ${t.tokens}: ` + names.map((n, i) => `${n} ${m[i]!.toFixed(0)} ms (${(t.tokens / m[i]! * 1000).toFixed(0)} tok/s, x${(m[0]! / m[i]!).toFixed(2)} engine, x${(m[3]! / m[i]!).toFixed(2)} tjs)`).join('; '));
    console.log(`    agreement with the engine: ${check}`);
  }
  // Edit re-score on 2,000 tokens, as bench/run.ts does it.
  const two = benchTexts(lm.tokenizer, [2000]).find((t) => t.kind === 'prose')!.text;
  const base = await lm.score(two);
  const at = base.starts[Math.floor(0.9 * base.tokenCount)]!;
  const variant = (i: number) => two.slice(0, at) + (i % 2 ? 'q' : 'z') + two.slice(at + 1);
  let prevE = await lm.score(variant(0)), prevF = await fast.score(variant(0));
  const te: number[] = [], tf: number[] = [], fe: number[] = [], ff: number[] = [];
  for (let rep = 0; rep < Math.max(5, REPS); rep++) {
    const next = variant(rep + 1);
    let t0 = performance.now(); prevE = await lm.score(next, { previous: prevE }); te.push(performance.now() - t0);
    t0 = performance.now(); prevF = await fast.score(next, { previous: prevF }); tf.push(performance.now() - t0);
    t0 = performance.now(); await lm.score(next); fe.push(performance.now() - t0);
    t0 = performance.now(); await fast.score(next); ff.push(performance.now() - t0);
  }
  console.log(`edit re-score, 2,000 tokens: engine incremental ${median(te).toFixed(0)} ms vs full ${median(fe).toFixed(0)} ms (x${(median(fe) / median(te)).toFixed(1)}); fused incremental ${median(tf).toFixed(0)} ms vs fused full ${median(ff).toFixed(0)} ms (x${(median(ff) / median(tf)).toFixed(1)}), vs today's full x${(median(fe) / median(tf)).toFixed(1)}`);
  // Next token at cursors deep in the 8,000-token text.
  const long = texts.filter((t) => t.kind === 'prose').sort((a, b) => b.tokens - a.tokens)[0]!.text;
  const offsets = Array.from({ length: 20 }, (_, i) => Math.floor(long.length * (0.05 + 0.047 * i)));
  const pe: number[] = [], pf: number[] = [];
  let same = 0;
  for (const o of offsets) {
    const ctx = long.slice(0, o);
    let t0 = performance.now(); const a = await lm.predictNext(ctx, 10); pe.push(performance.now() - t0);
    t0 = performance.now(); const b = await fast.predictNext(ctx, 255 * 16); pf.push(performance.now() - t0);
    if (a.candidates.every((c, i) => c.id === b.ids[i])) same++;
  }
  console.log(`next token: predictNext p50 ${median(pe).toFixed(1)} ms p95 ${q95(pe).toFixed(1)} ms; fused keep=1 + tail tokenization p50 ${median(pf).toFixed(1)} ms p95 ${q95(pf).toFixed(1)} ms (x${(median(pe) / median(pf)).toFixed(1)}); same top-10 at ${same}/${offsets.length}`);
  await ref.dispose();
  await fast.dispose();
  process.exit(0);
})();
