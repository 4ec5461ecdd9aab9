/**
 * `npm run bench -- --real-size [--write]`: the engine on random-weight models of real
 * models' dimensions (bench/make_real_size.py writes them into bench/models/, not committed):
 * SmolLM2-135M and Qwen2.5-0.5B when present. Side by side in one process, interleaved,
 * medians:
 *
 * - full scoring of prose texts (2,000 and 8,000 tokens; `--real-sizes`): the engine against
 *   transformers.js on the same folder and windows, and against the same engine with the
 *   statistics outside the graph; achieved GFLOP/s against the measured FMA peak;
 * - each quantized variant's scoring time against fp32's on the same text;
 * - in fresh processes (bench/realSizeChild.ts): first and second load with the optimized
 *   graph cache, time to the visible part's scores, peak RSS after the load and at the end.
 *
 * `--write` puts the tables between markers in BENCHMARKS.md's Performance section.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { LanguageModel } from '../src/core/engine';
import { listModelVariants } from '../src/core/modelFolder';
import { scoredRowsPerRun } from '../src/core/onnxModel';
import { ReferenceScorer } from './reference';
import { benchTexts, ROOT } from './texts';

const MODELS = ['smollm2-135m', 'qwen2.5-0.5b'];
/**
 * transformers.js runs a window as one forward pass: at 8,000 tokens in one window that is a
 * 9 x 8,001^2 float attention matrix per layer (2.3 GB) and 1.6 GB of logits, more than this
 * shared machine had free; it is compared up to this many tokens.
 */
const REFERENCE_MAX_TOKENS = 2000;
const SAME_WINDOWS_MAX_TOKENS = 2000;
const CACHE = join(ROOT, 'bench', '.cache');
const now = () => performance.now();
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');
const log = (s: string) => process.stderr.write(`${s}\n`);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export interface RealSizeOptions {
  readonly threads: number;
  readonly reps: number;
  readonly sizes: readonly number[];
  /** Skip transformers.js (its 8,000-token windows need several GB). */
  readonly reference: boolean;
  readonly models?: readonly string[];
}

interface Dimensions { layers: number; hidden: number; intermediate: number; heads: number; kvHeads: number; vocab: number }

function dimensions(folder: string): Dimensions {
  const c = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  return { layers: c.num_hidden_layers, hidden: c.hidden_size, intermediate: c.intermediate_size, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, vocab: c.vocab_size };
}

/**
 * Matmul FLOPs the graph executes for a scoring with windows of `window` (stride `stride`) over
 * n tokens (BOS included in each window): per position, 2 flops per weight of q, k, v, o and the
 * MLP; the LM head on the rows run (in-graph: the scored rows; outside: all); attention
 * 2 x 2 x layers x hidden x (keys attended), the graph computing every key of its run
 * (in-graph runs of `chunk` rows attend to the positions before them and their own run;
 * a plain run to the whole window).
 */
function scoringFlops(d: Dimensions, n: number, window: number, stride: number, inGraph: boolean): number {
  const headDim = d.hidden / d.heads;
  const body = 2 * d.hidden * d.hidden + 2 * d.hidden * d.kvHeads * headDim + 3 * d.hidden * d.intermediate;
  const chunk = scoredRowsPerRun(d.vocab);
  let flops = 0;
  for (let start = 0, scoredUpTo = 0; ; start += stride) {
    const end = Math.min(start + window - 1, n);
    const t = end - start + 1;
    const scored = end - Math.max(scoredUpTo, start);
    flops += t * 2 * d.layers * body + (inGraph ? scored + 1 : t) * 2 * d.hidden * d.vocab;
    if (inGraph) {
      for (let from = 0; from < t; from += chunk) flops += 2 * 2 * d.layers * d.hidden * Math.min(chunk, t - from) * Math.min(t, from + chunk);
    } else {
      flops += 2 * 2 * d.layers * d.hidden * t * t;
    }
    scoredUpTo = end;
    if (end === n) break;
  }
  return flops;
}

function measuredPeak(threads: number): number {
  try {
    mkdirSync(CACHE, { recursive: true });
    const exe = join(CACHE, 'fmapeak');
    execFileSync('gcc', ['-O2', '-mavx512f', '-pthread', join(ROOT, 'bench', 'fmapeak.c'), '-o', exe], { stdio: 'ignore' });
    return (JSON.parse(execFileSync(exe, [String(threads)], { encoding: 'utf8' }).trim()) as { gflops: number }).gflops;
  } catch {
    return NaN;
  }
}

function buildChild(): string {
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, 'realSizeChild.js');
  buildSync({ entryPoints: [join(ROOT, 'bench', 'realSizeChild.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], outfile: out, logLevel: 'error' });
  return out;
}

interface ChildResult { loadMs: number; firstMs: number; visibleMs: number; totalMs: number; tokens: number; windowSize: number; hwmAfterLoadMb: number; hwmMb: number }

function runChild(child: string, folder: string, graphFile: string, textFile: string, threads: number, graphCache: string | null): ChildResult {
  const env = { ...process.env };
  if (graphCache) env.SURPRISAL_LENS_GRAPH_CACHE = graphCache;
  else delete env.SURPRISAL_LENS_GRAPH_CACHE;
  const out = execFileSync(process.execPath, [child, folder, graphFile, textFile, String(threads), '3000'], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

/** Runs the real-size rows; returns the Markdown (heading level 3) for BENCHMARKS.md. */
export async function runRealSize(options: RealSizeOptions): Promise<string> {
  const lines: string[] = [];
  const peak = measuredPeak(options.threads);
  const child = buildChild();
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const loadAtStart = loadAverage();
  for (const name of options.models ?? MODELS) {
    const folder = join(ROOT, 'bench', 'models', name);
    if (!existsSync(join(folder, 'config.json'))) {
      log(`${name}: not generated (/usr/bin/python3 bench/make_real_size.py ${name}); skipped`);
      continue;
    }
    const d = dimensions(folder);
    const variants = listModelVariants(folder);
    const fp32 = variants.find((v) => v.name === 'fp32')!;
    log(`${name}: ${variants.map((v) => `${v.name} ${fmt(v.bytes / 1e6)} MB`).join(', ')}`);
    const rows: string[][] = [];
    const lm = await LanguageModel.load(folder, { threads: options.threads, graphFile: fp32.graphFile });
    const outside = await LanguageModel.load(folder, { threads: options.threads, graphFile: fp32.graphFile, inGraphScoring: false });
    const ref = options.reference ? await ReferenceScorer.load(folder, options.threads) : null;
    const texts = benchTexts(lm.tokenizer, options.sizes).filter((t) => t.kind === 'prose');
    for (const text of texts) {
      const ours: number[] = [];
      const theirs: number[] = [];
      const out: number[] = [];
      let window = 0;
      let outsideWindow = 0;
      let stride = 0;
      let vsOutside = 0;
      let vsReference = 0;
      const reps = text.tokens >= 8000 ? Math.max(1, Math.ceil(options.reps / 2)) : options.reps;
      for (let rep = 0; rep < reps; rep++) {
        let t0 = now();
        const s = await lm.score(text.text);
        ours.push(now() - t0);
        window = s.windowSize;
        stride = s.stride;
        t0 = now();
        // The same windows up to SAME_WINDOWS_MAX_TOKENS (its logits cost the outside path 2 x 4 x vocabulary bytes a position); beyond, its own memory-bounded windows.
        const o = await outside.score(text.text, text.tokens <= SAME_WINDOWS_MAX_TOKENS ? { windowSize: window, stride } : {});
        out.push(now() - t0);
        outsideWindow = o.windowSize;
        if (rep === 0 && o.windowSize === window) for (let j = 0; j < s.tokenCount; j++) vsOutside = Math.max(vsOutside, Math.abs(o.logprobs[j]! - s.logprobs[j]!) || 0);
        if (ref && text.tokens <= REFERENCE_MAX_TOKENS) {
          t0 = now();
          const r = await ref.score(text.text, window, stride, 10);
          theirs.push(now() - t0);
          if (rep === 0) for (let j = 0; j < s.tokenCount; j++) vsReference = Math.max(vsReference, Math.abs(r.logprobs[j]! - s.logprobs[j]!));
        }
        log(`  ${name} ${text.tokens} tokens rep ${rep}: ours ${fmt(ours.at(-1)!)} ms, outside ${fmt(out.at(-1)!)} ms${theirs.length ? `, transformers.js ${fmt(theirs.at(-1)!)} ms` : ''}`);
      }
      const e = median(ours);
      const gflops = scoringFlops(d, text.tokens, window, stride, lm.info.inGraphScoringUnavailable === null) / (e / 1000) / 1e9;
      const r = theirs.length ? median(theirs) : NaN;
      rows.push([`full scoring, prose ${fmt(text.tokens)} tokens (window ${fmt(window)}, stride ${fmt(stride)})`, `${fmt(e)} ms (${fmt(text.tokens / (e / 1000))} tok/s)`,
        theirs.length ? `${fmt(r)} ms` : 'not run (memory)', theirs.length ? `x${fmt(r / e, 2)} (target x3); max |Δ ln P| ${vsReference.toExponential(1)}` : '']);
      rows.push([outsideWindow === window ? `  the same, statistics outside the graph (same windows)` : `  statistics outside the graph, its own windows of ${fmt(outsideWindow)} (logits memory)`,
        `${fmt(median(out))} ms`, '', `in-graph x${fmt(median(out) / e, 2)} faster${outsideWindow === window ? `; max |Δ ln P| ${vsOutside.toExponential(1)}` : ''}`]);
      rows.push([`  achieved fp32 GFLOP/s (matmuls and attention the graph runs)`, `${fmt(gflops, 1)}`, '', `${fmt((100 * gflops) / peak, 1)}% of the measured ${fmt(peak)} (target >= 40%)`]);
    }
    await outside.dispose();
    await ref?.dispose();

    // Variants against fp32 on the 2,000-token text (or the shortest size): one variant at a
    // time beside fp32, interleaved (five 135M sessions at once took 18 GB and were killed).
    const variantText = texts.find((t) => t.tokens === 2000) ?? texts[0]!;
    const others = variants.filter((v) => ['q8', 'int8', 'uint8', 'q4', 'fp16', 'q4f16'].includes(v.name));
    const reference = await lm.score(variantText.text);
    for (const v of others) {
      const m = await LanguageModel.load(folder, { threads: options.threads, graphFile: v.graphFile });
      const fp32Times: number[] = [];
      const times: number[] = [];
      let meanDiff = 0;
      try {
        for (let rep = 0; rep < options.reps; rep++) {
          let t0 = now();
          await lm.score(variantText.text);
          fp32Times.push(now() - t0);
          t0 = now();
          const s = await m.score(variantText.text);
          times.push(now() - t0);
          if (rep === 0) {
            let sum = 0;
            for (let j = 1; j < s.tokenCount; j++) sum += Math.abs(s.logprobs[j]! - reference.logprobs[j]!);
            meanDiff = sum / (s.tokenCount - 1);
          }
        }
      } finally {
        await m.dispose();
      }
      const base = median(fp32Times);
      const t = median(times);
      log(`  ${name} variant ${v.name}: ${fmt(t)} ms, fp32 ${fmt(base)} ms`);
      rows.push([`variant ${v.name} (${fmt(v.bytes / 1e6)} MB), prose ${fmt(variantText.tokens)} tokens`, `${fmt(t)} ms`, '',
        `fp32 beside it ${fmt(base)} ms: x${fmt(base / t, 2)} (target > x1 for int8 and q4); mean |Δ ln P| vs fp32 ${meanDiff.toFixed(3)}`]);
    }

    // Fresh processes: load, visible part, peak RSS; the second load from the optimized-graph cache.
    const textFile = join(CACHE, `real-${name}.txt`);
    writeFileSync(textFile, variantText.text);
    const graphCache = mkdtempSync(join(tmpdir(), 'surprisal-lens-graph-cache-'));
    try {
      runChild(child, folder, fp32.graphFile, textFile, options.threads, null); // warms the OS file cache
      const plain = runChild(child, folder, fp32.graphFile, textFile, options.threads, null);
      const first = runChild(child, folder, fp32.graphFile, textFile, options.threads, graphCache);
      const second = runChild(child, folder, fp32.graphFile, textFile, options.threads, graphCache);
      // The graph and its external data files: what the load reads.
      const fileMb = fp32.bytes / 1e6;
      const cached = fp32.files.length === 1;
      rows.push([`load, fp32 (${fmt(fileMb)} MB of files): without / saving / from the optimized-graph cache`, `${fmt(plain.loadMs)} / ${fmt(first.loadMs)} / ${fmt(second.loadMs)} ms`, '',
        cached ? 'second load target <= 3,000 ms' : 'graphs with external data are not cached: three plain loads']);
      rows.push([`cold start to the first colours / the visible part's scores (first 3,000 characters of ${fmt(second.tokens)} tokens; window ${fmt(second.windowSize)})`, `${fmt(second.firstMs)} / ${fmt(second.visibleMs)} ms (all: ${fmt(second.totalMs)} ms)`, '', 'target < 2,000 ms']);
      rows.push([`peak RSS, after the load / after scoring (fresh process, no cache)`, `${fmt(plain.hwmAfterLoadMb)} / ${fmt(plain.hwmMb)} MB`, '', `${fmt(plain.hwmAfterLoadMb / fileMb, 2)}x / ${fmt(plain.hwmMb / fileMb, 2)}x the files (target <= 1.5x + a stated constant)`]);
      if (cached) rows.push([`peak RSS, loaded from the optimized-graph cache`, `${fmt(second.hwmAfterLoadMb)} / ${fmt(second.hwmMb)} MB`, '', `${fmt(second.hwmAfterLoadMb / fileMb, 2)}x / ${fmt(second.hwmMb / fileMb, 2)}x the files`]);
    } finally {
      rmSync(graphCache, { recursive: true, force: true });
    }
    await lm.dispose();
    const title = `${name}: ${d.layers} layers x ${fmt(d.hidden)}, MLP ${fmt(d.intermediate)}, ${d.heads}/${d.kvHeads} heads, logits ${fmt(d.vocab)} wide; random weights`;
    lines.push(`#### ${title}`, '', '| measurement | ours | transformers.js | ratio / target |', '|:--|--:|--:|:--|', ...rows.map((r) => `| ${r.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`), '');
    log(lines.slice(-rows.length - 4).join('\n'));
  }
  const header = [
    `### Real-size models`,
    '',
    `Measured ${started} with \`npm run bench -- ${process.argv.slice(2).join(' ')}\` (models from \`/usr/bin/python3 bench/make_real_size.py\`), ${options.threads} threads, medians of ${options.reps} interleaved repetitions (fewer at 8,000 tokens); load average at the start ${loadAtStart}, at the end ${loadAverage()} (other jobs shared this 2-vCPU machine: compare the ratios, measured side by side, more than the absolute times).`,
    '',
  ];
  return [...header, ...lines].join('\n');
}

/** Puts `markdown` between the real-size markers of BENCHMARKS.md's Performance section. */
export function writeRealSize(file: string, markdown: string): void {
  const START = '<!-- npm run bench -- --real-size --write: generated from here -->';
  const END = '<!-- real-size: generated up to here -->';
  let doc = readFileSync(file, 'utf8');
  const block = `${START}\n${markdown.trim()}\n${END}`;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) doc = doc.slice(0, a) + block + doc.slice(b + END.length);
  else doc = doc.replace('<!-- generated up to here; notes below are kept -->', (m) => `${m}\n\n${block}`);
  writeFileSync(file, doc);
}
