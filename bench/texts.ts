/**
 * Benchmark texts: prose and code from the held-out corpus of the model recipe
 * (models/recipe/work/corpus/heldout.jsonl, documents the default model was not trained on),
 * or, when that corpus is absent, from files of this repository and node_modules docs.
 * Each text is cut at a token boundary so that it holds exactly the requested token count.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TextTokenizer } from '../src/core/textTokenizer';

export const ROOT = join(__dirname, '..');
const HELDOUT = join(ROOT, 'models', 'recipe', 'work', 'corpus', 'heldout.jsonl');

export interface BenchText {
  readonly kind: 'prose' | 'code';
  readonly tokens: number;
  readonly text: string;
  readonly source: string;
}

interface Pool {
  readonly text: string;
  readonly source: string;
}

function heldoutPools(): { prose: Pool; code: Pool } | null {
  if (!existsSync(HELDOUT)) return null;
  const prose: string[] = [];
  const code: string[] = [];
  for (const line of readFileSync(HELDOUT, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const doc = JSON.parse(line) as { kind: string; text: string };
    if (doc.kind === 'prose') prose.push(doc.text);
    // Code: TypeScript, JavaScript and Python documents, in corpus order by kind.
    else if (doc.kind === 'ts' || doc.kind === 'js' || doc.kind === 'py') code.push(`${doc.kind}\u0000${doc.text}`);
  }
  const byKind = (k: string) => code.filter((c) => c.startsWith(`${k}\u0000`)).map((c) => c.slice(k.length + 1));
  return {
    prose: { text: prose.join('\n\n'), source: 'held-out corpus, prose documents' },
    code: { text: [...byKind('ts'), ...byKind('js'), ...byKind('py')].join('\n\n'), source: 'held-out corpus, TS then JS then Python documents' },
  };
}

function walk(dir: string, ext: string, out: string[], limit: number): void {
  if (out.length >= limit || !existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) walk(path, ext, out, limit);
    else if (name.endsWith(ext)) out.push(path);
    if (out.length >= limit) return;
  }
}

function repoPools(): { prose: Pool; code: Pool } {
  const code: string[] = [];
  walk(join(ROOT, 'src'), '.ts', code, 200);
  const prose = [join(ROOT, 'README.md'), join(ROOT, 'node_modules', 'typescript', 'README.md'), join(ROOT, 'node_modules', 'esbuild', 'README.md')]
    .filter(existsSync);
  walk(join(ROOT, 'node_modules', '@types', 'node'), '.md', prose, 40);
  return {
    prose: { text: prose.map((p) => readFileSync(p, 'utf8')).join('\n\n'), source: 'README.md files of the repo and node_modules' },
    code: { text: code.map((p) => readFileSync(p, 'utf8')).join('\n\n'), source: 'src/**/*.ts of this repo' },
  };
}

/** Cuts `pool` to exactly `count` tokens (or fewer if the pool is short). */
function cut(tokenizer: TextTokenizer, pool: string, count: number): string {
  let text = pool;
  for (let attempt = 0; attempt < 4; attempt++) {
    const t = tokenizer.encode(text);
    if (t.ids.length <= count) return text;
    text = text.slice(0, t.ends[count - 1 - attempt]!);
  }
  return text;
}

export function benchTexts(tokenizer: TextTokenizer, sizes: readonly number[]): BenchText[] {
  const pools = heldoutPools() ?? repoPools();
  const out: BenchText[] = [];
  for (const kind of ['prose', 'code'] as const) {
    // Tokenize a prefix big enough for the largest size once.
    const biggest = Math.max(...sizes);
    const pool = pools[kind].text.slice(0, biggest * 12);
    for (const size of sizes) {
      const text = cut(tokenizer, pool, size);
      out.push({ kind, tokens: tokenizer.encode(text).ids.length, text, source: pools[kind].source });
    }
  }
  return out;
}
