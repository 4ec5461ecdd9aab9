/**
 * `surprisal-lens score <file> [--model <dir>] [--top-k N] [--json]`: scores a file with the
 * same engine the extension uses. Errors a user can fix exit with code 2 and one line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LanguageModel } from '../core/engine';
import type { DocumentScores } from '../core/types';
import { bundledModelPath, ModelFolderError, resolveModelVariant } from '../core/modelFolder';
import { HubError } from '../core/hub/http';
import { downloadedModelFolder, HUB_USAGE, isHubCommand, runHubCommand } from './hubCommands';
import { COMPARE_USAGE, runCompareCommand } from './compareCommand';
import { visibleToken } from '../core/format';
import { tokenView, type TokenView } from '../core/tokenView';
import { REMOTE_APIS, type RemoteApiSetting } from '../core/remote/engines';
import { RemoteBackend } from '../core/remote/remoteBackend';
import { RemoteError } from '../core/remote/remoteError';

const USAGE = `usage: surprisal-lens score <file> [--model <dir> | <owner/name>] [--top-k N] [--json] [--threads N] [--variant NAME]
       surprisal-lens score <file> --remote <url> [--remote-model NAME] [--remote-api auto|openai-completions|sglang|tgi] [--top-k N] [--json]
         (an inference server scores; its API key, if any, is read from SURPRISAL_LENS_API_KEY)\n${COMPARE_USAGE}\n${HUB_USAGE}`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  if (isHubCommand(argv[0])) return runHubCommand(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
  if (argv[0] === 'compare') return runCompareCommand(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      'top-k': { type: 'string' },
      json: { type: 'boolean', default: false },
      threads: { type: 'string' },
      variant: { type: 'string' },
      remote: { type: 'string' },
      'remote-model': { type: 'string' },
      'remote-api': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, file, ...rest] = positionals;
  if (command !== 'score' || !file || rest.length > 0) throw new UsageError(USAGE);
  const topK = parsePositiveInt(values['top-k'] ?? '10', '--top-k');
  const threads = values.threads === undefined ? 0 : parsePositiveInt(values.threads, '--threads');
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`File not found: ${file}`);
  const text = readFileSync(path, 'utf8');
  if (values.remote !== undefined) {
    const api = values['remote-api'] ?? 'auto';
    if (!(REMOTE_APIS as readonly string[]).includes(api)) throw new UsageError(`--remote-api must be one of ${REMOTE_APIS.join(', ')}, got ${api}`);
    const backend = new RemoteBackend({ url: values.remote, model: values['remote-model'] ?? '', api: api as RemoteApiSetting, apiKey: process.env.SURPRISAL_LENS_API_KEY || undefined });
    try {
      const loaded = await backend.load();
      const { scores } = await backend.score({ documentKey: path, version: 1, text, settings: { topK, windowSize: 0, stride: 0 } });
      const tokens = Array.from({ length: scores.tokenCount }, (_, i) => tokenView(scores, i, text, loaded.tokenText));
      const { name, path: url, vocabSize, contextLength, inGraphScoringUnavailable, remote } = loaded.info;
      const model = { name, path: url, vocabSize, contextLength, variant: null, inGraphScoringUnavailable, remote };
      process.stdout.write(values.json ? `${JSON.stringify({ model, tokens, summary: { ...scores.summary, tokens: scores.tokenCount, exactOffsets: scores.exactOffsets } }, jsonNumber)}\n` : table(file, remote?.label ?? name, tokens, scores));
    } finally {
      await backend.dispose();
    }
    return 0;
  }
  // --model takes a folder, or the id of a model fetched with `download`.
  const modelPath = resolve(values.model === undefined ? bundledModelPath(resolve(__dirname, '..')) : ((await downloadedModelFolder(values.model, process.env)) ?? values.model));

  // A variant name (fp32, q8, q4, merged fp32...) or a graph path; absent: the folder's automatic choice, named once the folder has loaded.
  const chosen = values.variant === undefined ? undefined : resolveModelVariant(modelPath, values.variant);
  const model = await LanguageModel.load(modelPath, { threads, ...(chosen ? { graphFile: chosen.graphFile } : {}) });
  const variant = chosen ?? resolveModelVariant(modelPath);
  try {
    const scores = await model.score(text, { topK });
    const tokenTexts = (id: number) => model.tokenizer.displayText(id);
    const tokens = Array.from({ length: scores.tokenCount }, (_, i) => tokenView(scores, i, text, tokenTexts));
    if (values.json) {
      const output = {
        model: { name: model.info.name, path: model.info.path, vocabSize: model.info.vocabSize, contextLength: model.info.contextLength, variant: variant.name, inGraphScoringUnavailable: model.info.inGraphScoringUnavailable },
        tokens,
        summary: { ...scores.summary, tokens: scores.tokenCount, exactOffsets: scores.exactOffsets },
      };
      process.stdout.write(`${JSON.stringify(output, jsonNumber)}\n`);
    } else {
      process.stdout.write(table(file, model.info.name, tokens, scores));
    }
  } finally {
    await model.dispose();
  }
  return 0;
}

function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`${flag} must be an integer from 1 to 1000, got ${value}`);
  return n;
}

/** NaN and infinities are not JSON; they never occur in scored tokens, but stay safe. */
function jsonNumber(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

function table(file: string, modelName: string, tokens: TokenView[], scores: DocumentScores): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
  const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
  lines.push(`${file}: ${tokens.length} tokens, model ${modelName}`);
  lines.push(`${lpad('#', 6)}  ${pad('token', 18)} ${lpad('range', 13)} ${lpad('prob', 8)} ${lpad('bits', 6)} ${lpad('rank', 6)} ${lpad('H', 5)}  top alternatives`);
  for (const t of tokens) {
    const top = t.top.slice(0, 3).map((a) => `${visibleToken(a.text)} ${(a.prob * 100).toFixed(1)}%`).join(', ');
    lines.push(
      `${lpad(String(t.index), 6)}  ${pad(visibleToken(t.text), 18)} ${lpad(`${t.start}-${t.end}`, 13)} ${lpad(t.prob === null ? '-' : `${(t.prob * 100).toFixed(2)}%`, 8)} ${lpad(t.surprisal === null ? '-' : t.surprisal.toFixed(2), 6)} ${lpad(t.rank === null ? '-' : String(t.rank), 6)} ${lpad(t.entropy === null ? '-' : t.entropy.toFixed(2), 5)}  ${top}`,
    );
  }
  const s = scores.summary;
  lines.push('');
  lines.push(`scored tokens ${s.scoredTokens}, mean surprisal ${s.meanSurprisal.toFixed(3)} bits, perplexity ${s.perplexity.toFixed(2)}, ${s.bitsPerByte.toFixed(3)} bits/byte`);
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ModelFolderError || error instanceof HubError || error instanceof RemoteError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`surprisal-lens: ${(error as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`surprisal-lens: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
