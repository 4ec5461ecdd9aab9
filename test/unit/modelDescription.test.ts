/**
 * How a model is named and sized for the status bar: parameter estimates from config.json
 * against the published sizes of real models (dimensions from shared/MODEL-SOURCES.md), and
 * the name taken from a Hub download's manifest, config.json or the folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeModel, estimateParameters, formatParameters } from '../../src/core/modelDescription';

const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-describe-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('model description', () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ['GPT-2 (124M)', { model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 }, 124e6],
    ['SmolLM2-135M', { model_type: 'llama', num_hidden_layers: 30, hidden_size: 576, intermediate_size: 1536, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true }, 134.5e6],
    ['SmolLM2-360M', { model_type: 'llama', num_hidden_layers: 32, hidden_size: 960, intermediate_size: 2560, num_attention_heads: 15, num_key_value_heads: 5, vocab_size: 49152, tie_word_embeddings: true }, 362e6],
    ['Qwen2.5-0.5B', { model_type: 'qwen2', num_hidden_layers: 24, hidden_size: 896, intermediate_size: 4864, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, tie_word_embeddings: true }, 494e6],
    ['Llama-3.2-1B', { model_type: 'llama', num_hidden_layers: 16, hidden_size: 2048, intermediate_size: 8192, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, tie_word_embeddings: true }, 1.236e9],
  ];
  for (const [name, config, published] of cases) {
    it(`estimates ${name} within 2% of its published size`, () => {
      const estimate = estimateParameters(config)!;
      assert.ok(Math.abs(estimate - published) / published < 0.02, `${name}: ${estimate} against ${published}`);
    });
  }

  it('formats sizes as people write them', () => {
    assert.equal(formatParameters(134_515_008), '135M');
    assert.equal(formatParameters(6_800_000), '6.8M');
    assert.equal(formatParameters(1_235_814_400), '1.2B');
  });

  it('names a download by its repository, a folder by config.json or its name, the bundled model plainly', () => {
    const folder = (name: string, files: Record<string, unknown>) => {
      const dir = join(scratch, name);
      mkdirSync(dir, { recursive: true });
      for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), JSON.stringify(content));
      return dir;
    };
    const config = { model_type: 'llama', num_hidden_layers: 30, hidden_size: 576, intermediate_size: 1536, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152 };
    const downloaded = folder('HuggingFaceTB--SmolLM2-135M--q4', { 'config.json': config, 'surprisal-lens-download.json': { repo: 'HuggingFaceTB/SmolLM2-135M', dtype: 'q4', commit: 'abc' } });
    assert.equal(describeModel(downloaded, null, 'x').displayName, 'HuggingFaceTB/SmolLM2-135M (q4)');
    assert.ok(Math.abs(describeModel(downloaded, null, 'x').parameters! - 134.5e6) < 3e6);
    assert.equal(describeModel(folder('exported', { 'config.json': { ...config, _name_or_path: 'my-org/my-model' } }), null, 'x').displayName, 'my-org/my-model');
    assert.equal(describeModel(folder('plain-folder', { 'config.json': { ...config, _name_or_path: '/home/me/checkpoints/run3' } }), null, 'x').displayName, 'plain-folder');
    const bundled = folder('default', { 'config.json': config });
    assert.equal(describeModel(bundled, bundled, 'default').displayName, 'Surprisal Lens default model');
    assert.equal(describeModel(join(scratch, 'missing'), null, 'fallback').parameters, undefined);
  });
});
