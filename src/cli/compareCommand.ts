/**
 * `surprisal-lens compare <file> --model A --model B [--json]`: scores a file with two
 * models and prints, word by word (core/comparison.ts), how many bits each needed and the
 * difference (B minus A), then both documents' figures. A model is a folder or the id of a
 * downloaded repository, as for `score`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareWords, summariseComparison, type ComparisonSummary, type WordComparison } from '../core/comparison';
import { LanguageModel } from '../core/engine';
import { visibleToken } from '../core/format';
import type { DocumentSummary } from '../core/summary';
import { downloadedModelFolder, type CliIo } from './hubCommands';

export const COMPARE_USAGE = 'surprisal-lens compare <file> --model <dir | owner/name> --model <dir | owner/name> [--json] [--threads N]';

/** Runs `compare`; returns the exit code (2 with one line on stderr for bad usage). */
export async function runCompareCommand(argv: string[], io: CliIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`surprisal-lens: ${message}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { model: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, threads: { type: 'string' } },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [, file, ...rest] = positionals;
  if (!file || rest.length > 0 || values.model?.length !== 2) return usage(`usage: ${COMPARE_USAGE}`);
  const threads = values.threads === undefined ? 0 : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 0 || threads > 1000) return usage(`--threads must be an integer from 1 to 1000, got ${values.threads}`);
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) return usage(`File not found: ${file}`);
  const text = readFileSync(path, 'utf8');

  const folders = await Promise.all(values.model.map(async (m) => resolve((await downloadedModelFolder(m, io.env)) ?? m)));
  // One model at a time: two loaded together would double the peak memory for nothing.
  const scored = [];
  for (const folder of folders) {
    const model = await LanguageModel.load(folder, { threads });
    try {
      scored.push({ info: model.info, scores: await model.score(text, { topK: 1 }) });
    } finally {
      await model.dispose();
    }
  }
  const [first, second] = scored as [(typeof scored)[0], (typeof scored)[0]];
  const comparison = compareWords(text, first.scores, second.scores);
  const summary = summariseComparison(comparison, first.scores.summary, second.scores.summary);
  const models = [first, second].map(({ info, scores }) => ({ name: info.name, path: info.path, tokens: scores.tokenCount, summary: scores.summary }));
  if (values.json) {
    const words = Array.from({ length: comparison.count }, (_, u) => ({
      text: text.slice(comparison.starts[u], comparison.ends[u]),
      start: comparison.starts[u]!,
      end: comparison.ends[u]!,
      bitsA: comparison.bitsA[u]!,
      bitsB: comparison.bitsB[u]!,
      difference: comparison.difference[u]!,
    }));
    const { first: _a, second: _b, ...figures } = summary;
    io.stdout.write(`${JSON.stringify({ models, words, summary: figures }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value))}\n`);
  } else {
    io.stdout.write(compareTable(file, text, models, comparison, summary));
  }
  return 0;
}

function compareTable(file: string, text: string, models: { name: string; tokens: number; summary: DocumentSummary }[], comparison: WordComparison, summary: ComparisonSummary): string {
  const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
  const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
  const bits = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));
  const lines = [`${file}: ${comparison.count} words; A = ${models[0]!.name}, B = ${models[1]!.name}`];
  lines.push(`${lpad('#', 6)}  ${pad('word', 20)} ${lpad('range', 13)} ${lpad('bits A', 8)} ${lpad('bits B', 8)} ${lpad('B - A', 8)}`);
  for (let u = 0; u < comparison.count; u++) {
    const d = comparison.difference[u]!;
    lines.push(
      `${lpad(String(u), 6)}  ${pad(visibleToken(text.slice(comparison.starts[u], comparison.ends[u])), 20)} ${lpad(`${comparison.starts[u]}-${comparison.ends[u]}`, 13)} ${lpad(bits(comparison.bitsA[u]!), 8)} ${lpad(bits(comparison.bitsB[u]!), 8)} ${lpad(Number.isNaN(d) ? '-' : `${d > 0 ? '+' : ''}${d.toFixed(2)}`, 8)}`,
    );
  }
  lines.push('');
  for (const [label, m] of [['A', models[0]!], ['B', models[1]!]] as const) {
    const s = m.summary;
    lines.push(`${label} ${m.name}: ${m.tokens} tokens, ${s.bitsPerByte.toFixed(3)} bits/byte, perplexity ${s.perplexity.toFixed(2)}, ${s.totalBits.toFixed(1)} bits in all`);
  }
  lines.push(`B needed more bits on ${summary.harderForSecond} words and fewer on ${summary.easierForSecond} (of ${summary.comparedWords} scored by both, by 1 bit or more); ${summary.totalDifferenceBits >= 0 ? '+' : ''}${summary.totalDifferenceBits.toFixed(1)} bits over the compared words`);
  return `${lines.join('\n')}\n`;
}
