// Peak RSS of one fresh process: load the default model and score the 8,000-token prose text.
// node --import tsx bench/scratch/memBatch.mts <windowsPerRun|outside> [threads]
import { readFileSync } from 'node:fs';
import { LanguageModel } from '../../src/core/engine';
import { benchTexts } from '../texts';
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const rss = () => process.memoryUsage().rss / 2 ** 20;
const mode = process.argv[2] ?? '4';
const before = rss();
const lm = await LanguageModel.load('models/default', { threads: Number(process.argv[3] ?? 2), inGraphScoring: mode !== 'outside', windowsPerRun: mode === 'outside' ? 1 : Number(mode) });
const afterLoad = hwm();
const text = benchTexts(lm.tokenizer, [8000]).find((t) => t.kind === 'prose')!.text;
const t = performance.now();
await lm.score(text);
const ms = performance.now() - t;
console.log(`${mode}: before ${before.toFixed(0)} MB, peak after load ${afterLoad.toFixed(0)} MB, peak after scoring ${hwm().toFixed(0)} MB, rss now ${rss().toFixed(0)} MB; ${ms.toFixed(0)} ms`);
await lm.dispose();
