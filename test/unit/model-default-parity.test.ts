/**
 * Parity of the shipped models with their PyTorch references (written by models/recipe):
 * - tokenizer: @huggingface/tokenizers gives the Python ids, and decode(encode(x)) == x;
 * - ONNX (onnxruntime-node) log-probs equal PyTorch's, in one full pass, in two chunks through
 *   the KV cache (past_key_values -> present), and left-padded in a batch: within 1e-4 for
 *   models/tiny, 1e-3 for models/default (DEFAULT_MODEL_VS_PYTORCH says why);
 * for models/default (test/fixtures/models/default-parity.json) and models/tiny
 * (models/tiny/reference.json, including its sliding-window case).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { DEFAULT_MODEL_VS_PYTORCH, maxAbsDiff } from '../helpers/maxAbsDiff';

const ROOT = path.resolve(__dirname, '..', '..');
const TOL = 1e-4;

interface Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
}
interface RefCase {
  name: string;
  text: string;
  ids: number[];
  logprobs: number[];
  top10?: number[][];
  windowed?: { context: number; stride: number; logprobs: number[] };
}

function readJson<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(ROOT, ...parts), 'utf8')) as T;
}

class Model {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly cfg: Config,
  ) {}

  static async load(dir: string): Promise<Model> {
    const cfg = readJson<Config>(dir, 'config.json');
    const session = await ort.InferenceSession.create(path.join(ROOT, dir, 'onnx', 'model.onnx'));
    return new Model(session, cfg);
  }

  /** Runs rows (equal length) with attention masks covering past + new tokens. */
  async run(rows: number[][], masks: number[][], past: ort.InferenceSession.OnnxValueMapType | null, pastLen: number) {
    const B = rows.length;
    const T = rows[0]!.length;
    const H = this.cfg.n_head;
    const D = this.cfg.n_embd / this.cfg.n_head;
    const i64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map((x) => BigInt(x))), dims);
    const positions = masks.flatMap((m) => {
      let c = 0;
      return m.map((x) => ((c += x), Math.max(c - 1, 0))).slice(pastLen);
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(rows.flat(), [B, T]),
      attention_mask: i64(masks.flat(), [B, pastLen + T]),
      position_ids: i64(positions, [B, T]),
    };
    for (let i = 0; i < this.cfg.n_layer; i++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kv}`] = past
          ? (past[`present.${i}.${kv}`] as ort.Tensor)
          : new ort.Tensor('float32', new Float32Array(0), [B, H, 0, D]);
      }
    }
    return this.session.run(feeds);
  }

  /** ln softmax(logits[b, t])[target], in float64. */
  logprob(logits: ort.Tensor, b: number, t: number, target: number): number {
    const [, T, V] = logits.dims as number[];
    const data = logits.data as Float32Array;
    const off = (b * T! + t) * V!;
    let m = -Infinity;
    for (let v = 0; v < V!; v++) m = Math.max(m, data[off + v]!);
    let s = 0;
    for (let v = 0; v < V!; v++) s += Math.exp(data[off + v]! - m);
    return data[off + target]! - m - Math.log(s);
  }

  argmax(logits: ort.Tensor, b: number, t: number): number {
    const [, T, V] = logits.dims as number[];
    const data = logits.data as Float32Array;
    const off = (b * T! + t) * V!;
    let best = 0;
    for (let v = 1; v < V!; v++) if (data[off + v]! > data[off + best]!) best = v;
    return best;
  }

  /** Log-probs of ids after BOS in one window. */
  async fullPass(ids: number[]): Promise<number[]> {
    const seq = [0, ...ids];
    const out = await this.run([seq], [seq.map(() => 1)], null, 0);
    return ids.map((id, t) => this.logprob(out.logits!, 0, t, id));
  }

  /** Same, fed as two chunks: the second chunk reads the first one's KV cache. */
  async twoChunks(ids: number[], split: number): Promise<number[]> {
    const seq = [0, ...ids];
    const a = await this.run([seq.slice(0, split)], [seq.slice(0, split).map(() => 1)], null, 0);
    const b = await this.run([seq.slice(split)], [seq.map(() => 1)], a, split);
    return ids.map((id, t) => (t < split ? this.logprob(a.logits!, 0, t, id) : this.logprob(b.logits!, 0, t - split, id)));
  }

  /** Left-padded row next to a longer row: padding must be masked out. */
  async paddedBatch(ids: number[], pad: number): Promise<number[][]> {
    const seq = [0, ...ids];
    const rowA = [...Array<number>(pad).fill(0), ...seq];
    const rowB = [...seq, ...Array<number>(pad).fill(7)];
    const maskA = [...Array<number>(pad).fill(0), ...seq.map(() => 1)];
    const out = await this.run([rowA, rowB], [maskA, rowB.map(() => 1)], null, 0);
    return [ids.map((id, t) => this.logprob(out.logits!, 0, t + pad, id)), ids.map((id, t) => this.logprob(out.logits!, 1, t, id))];
  }

  /** BOS-prefixed sliding windows (HF perplexity-guide style), each token scored once. */
  async windowed(ids: number[], context: number, stride: number): Promise<number[]> {
    const N = ids.length;
    const L = context - 1;
    const out: number[] = [];
    let a = 0;
    let prevEnd = 0;
    for (;;) {
      const end = Math.min(a + L, N);
      const seq = [0, ...ids.slice(a, end)];
      const res = await this.run([seq], [seq.map(() => 1)], null, 0);
      for (let t = prevEnd; t < end; t++) out.push(this.logprob(res.logits!, 0, t - a, ids[t]!));
      prevEnd = end;
      if (end === N) break;
      a += stride;
    }
    return out;
  }
}

function loadTokenizer(dir: string): Tokenizer {
  return new Tokenizer(readJson<object>(dir, 'tokenizer.json'), readJson<object>(dir, 'tokenizer_config.json'));
}

/** Deterministic random Unicode strings: ASCII, whitespace runs, Latin-1, CJK, emoji, marks, astral. */
function randomTexts(count: number, seed: number): string[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pools: Array<() => number> = [
    () => 0x20 + Math.floor(rnd() * 95),
    () => [0x20, 0x20, 0x20, 0x09, 0x0a, 0x0d, 0xa0, 0x3000, 0x2028, 0x85, 0xfeff][Math.floor(rnd() * 11)]!,
    () => 0xa1 + Math.floor(rnd() * 0x15e),
    () => 0x4e00 + Math.floor(rnd() * 0x5000),
    () => 0x1f300 + Math.floor(rnd() * 0x300),
    () => 0x300 + Math.floor(rnd() * 0x70),
    () => 0x10000 + Math.floor(rnd() * 0xfff00),
    () => 0x590 + Math.floor(rnd() * 0x170),
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = '';
    const n = 1 + Math.floor(rnd() * 60);
    for (let j = 0; j < n; j++) {
      let cp = pools[Math.floor(rnd() * pools.length)]!();
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      t += String.fromCodePoint(cp);
    }
    out.push(t);
  }
  return out;
}

describe('models/default parity with PyTorch', () => {
  interface Fixture {
    tokenizer_cases: Array<{ text: string; ids: number[] }>;
    documents: RefCase[];
  }
  const fx = readJson<Fixture>('test', 'fixtures', 'models', 'default-parity.json');
  const tok = loadTokenizer('models/default');
  let model: Model;
  before(async () => {
    model = await Model.load('models/default');
  });
  after(async () => {
    await model.session.release();
  });

  test('JS tokenizer gives the Python ids on varied text', () => {
    assert.ok(fx.tokenizer_cases.length >= 15);
    for (const c of fx.tokenizer_cases) {
      assert.deepEqual(tok.encode(c.text).ids, c.ids, JSON.stringify(c.text));
    }
    for (const d of fx.documents) assert.deepEqual(tok.encode(d.text).ids, d.ids, d.name);
  });

  test('runs of spaces do not become one token per space', () => {
    const ids = tok.encode('            return x\n').ids;
    assert.ok(ids.length <= 4, `12 spaces + 'return x\\n' took ${ids.length} tokens`);
  });

  test('decode(encode(x)) == x on varied Unicode', () => {
    const texts = [...fx.tokenizer_cases.map((c) => c.text).filter((t) => t.length > 0), ...randomTexts(300, 12345)];
    for (const t of texts) assert.equal(tok.decode(tok.encode(t).ids), t, JSON.stringify(t));
  });

  test('ONNX log-probs equal PyTorch within 1e-3: full pass and two chunks through the KV cache', async (t) => {
    let tokens = 0;
    let maxFull = 0;
    let maxSplit = 0;
    for (const d of fx.documents) {
      assert.ok(d.ids.length < model.cfg.n_positions);
      maxFull = Math.max(maxFull, maxAbsDiff(await model.fullPass(d.ids), d.logprobs));
      const split = Math.floor((d.ids.length + 1) / 3);
      maxSplit = Math.max(maxSplit, maxAbsDiff(await model.twoChunks(d.ids, split), d.logprobs));
      tokens += d.ids.length;
    }
    t.diagnostic(`${tokens} tokens, max |diff| full ${maxFull.toExponential(2)}, KV cache ${maxSplit.toExponential(2)}`);
    assert.ok(tokens >= 2000, `fixture has only ${tokens} tokens`);
    assert.ok(maxFull <= DEFAULT_MODEL_VS_PYTORCH, `full pass max |diff| ${maxFull}`);
    assert.ok(maxSplit <= DEFAULT_MODEL_VS_PYTORCH, `KV-cache max |diff| ${maxSplit}`);
  });

  test('padding masked by attention_mask does not change log-probs', async () => {
    const d = fx.documents[0]!;
    const ids = d.ids.slice(0, 100);
    const [padded, longer] = await model.paddedBatch(ids, 5);
    assert.ok(maxAbsDiff(padded!, d.logprobs.slice(0, 100)) <= DEFAULT_MODEL_VS_PYTORCH);
    assert.ok(maxAbsDiff(longer!, d.logprobs.slice(0, 100)) <= DEFAULT_MODEL_VS_PYTORCH);
  });

  // How long it takes is measured by `npm run bench` (BENCHMARKS.md); here, that the
  // windowed scoring of 1,000 tokens gives one score per token.
  test('scoring 1,000 tokens in windows gives one finite log-prob per token', async (t) => {
    const ids = fx.documents.flatMap((d) => d.ids).slice(0, 1000);
    await model.windowed(ids.slice(0, 50), model.cfg.n_positions, model.cfg.n_positions - 1); // warm-up
    const t0 = performance.now();
    const lps = await model.windowed(ids, model.cfg.n_positions, model.cfg.n_positions - 1);
    const ms = performance.now() - t0;
    t.diagnostic(`1,000 tokens scored in ${ms.toFixed(0)} ms`);
    assert.equal(lps.length, ids.length);
    assert.ok(lps.every((lp: number) => Number.isFinite(lp) && lp <= 0));
  });
});

describe('models/tiny parity with PyTorch (reference.json)', () => {
  const ref = readJson<{ cases: RefCase[] }>('models', 'tiny', 'reference.json');
  const tok = loadTokenizer('models/tiny');
  let model: Model;
  before(async () => {
    model = await Model.load('models/tiny');
  });
  after(async () => {
    await model.session.release();
  });

  test('JS tokenizer gives the Python ids and round-trips', () => {
    assert.equal(ref.cases.length, 8);
    for (const c of ref.cases) {
      assert.deepEqual(tok.encode(c.text).ids, c.ids, c.name);
      assert.equal(tok.decode(c.ids), c.text, c.name);
    }
    for (const t of randomTexts(100, 777)) assert.equal(tok.decode(tok.encode(t).ids), t);
  });

  test('log-probs within 1e-4: full pass, two chunks, padded batch; same argmax', async () => {
    for (const c of ref.cases.filter((x) => !x.windowed)) {
      const full = await model.fullPass(c.ids);
      assert.ok(maxAbsDiff(full, c.logprobs) <= TOL, c.name);
      assert.ok(maxAbsDiff(await model.twoChunks(c.ids, 1 + Math.floor(c.ids.length / 2)), c.logprobs) <= TOL, c.name);
      for (const row of await model.paddedBatch(c.ids, 3)) assert.ok(maxAbsDiff(row, c.logprobs) <= TOL, c.name);
      const seq = [0, ...c.ids];
      const out = await model.run([seq], [seq.map(() => 1)], null, 0);
      c.ids.forEach((_, t) => assert.equal(model.argmax(out.logits!, 0, t), c.top10![t]![0], `${c.name} @${t}`));
    }
  });

  test('sliding windows (context 64, stride 32) reproduce the long case', async () => {
    const c = ref.cases.find((x) => x.windowed)!;
    assert.ok(c.ids.length > 3 * model.cfg.n_positions);
    const w = c.windowed!;
    const lps = await model.windowed(c.ids, w.context, w.stride);
    assert.ok(maxAbsDiff(lps, w.logprobs) <= TOL);
  });
});
