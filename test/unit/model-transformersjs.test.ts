/**
 * An independent check of models/default: transformers.js loads the local folder (remote
 * models off), and its per-token log-probs equal the PyTorch reference
 * (test/fixtures/models/default-parity.json) within 1e-3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env } from '@huggingface/transformers';

const ROOT = path.resolve(__dirname, '..', '..');

interface Doc {
  name: string;
  text: string;
  ids: number[];
  logprobs: number[];
}

describe('models/default in transformers.js', () => {
  const fx = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'models', 'default-parity.json'), 'utf8')) as {
    documents: Doc[];
  };
  // Loaded through the library's generic loaders; types are kept loose on purpose.
  let model: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>;
  let tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;

  before(async () => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.join(ROOT, 'models') + path.sep;
    model = await AutoModelForCausalLM.from_pretrained('default', { dtype: 'fp32', local_files_only: true });
    tokenizer = await AutoTokenizer.from_pretrained('default', { local_files_only: true });
  });
  after(async () => {
    await model.dispose();
  });

  test('tokenizer gives the fixture ids', () => {
    for (const d of fx.documents.slice(0, 6)) {
      assert.deepEqual(tokenizer.encode(d.text, { add_special_tokens: false }), d.ids, d.name);
    }
  });

  test('per-token log-probs equal PyTorch within 1e-3', async (t) => {
    const docs = fx.documents.slice(0, 6);
    assert.ok(docs.length >= 3);
    let maxDiff = 0;
    let n = 0;
    for (const d of docs) {
      const seq = [0, ...d.ids];
      const input_ids = new Tensor('int64', BigInt64Array.from(seq.map((x) => BigInt(x))), [1, seq.length]);
      const attention_mask = new Tensor('int64', BigInt64Array.from(seq.map(() => 1n)), [1, seq.length]);
      const out = (await model.forward({ input_ids, attention_mask })) as { logits: Tensor };
      const [, T, V] = out.logits.dims as number[];
      assert.equal(T, seq.length);
      const data = out.logits.data as Float32Array;
      for (let t = 0; t < d.ids.length; t++) {
        const off = t * V!;
        let m = -Infinity;
        for (let v = 0; v < V!; v++) m = Math.max(m, data[off + v]!);
        let s = 0;
        for (let v = 0; v < V!; v++) s += Math.exp(data[off + v]! - m);
        const lp = data[off + d.ids[t]!]! - m - Math.log(s);
        maxDiff = Math.max(maxDiff, Math.abs(lp - d.logprobs[t]!));
        n++;
      }
    }
    t.diagnostic(`${n} tokens, max |diff| ${maxDiff.toExponential(2)}`);
    assert.ok(n >= 500);
    assert.ok(maxDiff <= 1e-3, `max |diff| ${maxDiff}`);
  });
});
