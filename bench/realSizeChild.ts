/**
 * One fresh process of the real-size benchmark (bench/realSize.ts): loads a model folder's
 * variant with the core engine, scores a text with the first `visibleChars` characters as
 * the priority range (the visible lines), and prints one JSON line: load time, time to the
 * first heatmap colours (the first snapshot) and to the visible part's scores, total time,
 * and peak RSS (VmHWM) after the load and at the end. Run through esbuild's bundle like bench/child.ts.
 */
import { readFileSync } from 'node:fs';
import { LanguageModel } from '../src/core/engine';

const [modelPath, graphFile, textFile, threadsArg, visibleArg] = process.argv.slice(2);

function hwmMb(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

(async () => {
  const text = readFileSync(textFile!, 'utf8');
  const visible = Number(visibleArg ?? 3000);
  const t0 = performance.now();
  const model = await LanguageModel.load(modelPath!, { threads: Number(threadsArg ?? 2), graphFile: graphFile! });
  const loadMs = performance.now() - t0;
  const hwmAfterLoadMb = hwmMb();
  // The first snapshot (a long preview's first stage) and the last one (the whole visible part).
  let firstMs = NaN;
  let visibleMs = NaN;
  const scores = await model.score(text, {
    priority: { start: 0, end: visible },
    onPartial: () => {
      visibleMs = performance.now() - t0;
      if (Number.isNaN(firstMs)) firstMs = visibleMs;
    },
  });
  const totalMs = performance.now() - t0;
  // A document within one window has no separate visible part: its first scores are all of them.
  if (Number.isNaN(visibleMs)) visibleMs = firstMs = totalMs;
  process.stdout.write(`${JSON.stringify({ loadMs, firstMs, visibleMs, totalMs, tokens: scores.tokenCount, windowSize: scores.windowSize, hwmAfterLoadMb, hwmMb: hwmMb() })}\n`);
  await model.dispose();
  process.exit(0);
})().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
