import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { parseModelConfig } from '../../src/core/modelFolder';
import { assertLoadFails } from '../helpers/modelFolders';
import { TINY_MODEL } from '../helpers/tokenizers';

const NO_LOGITS_GRAPH = join(__dirname, '..', 'fixtures', 'models', 'no-logits.onnx');
const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-folders-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
/** A copy of the tiny model, broken by `damage`. */
function brokenCopy(damage: (dir: string) => void): string {
  const dir = join(scratch, `model-${counter++}`);
  cpSync(TINY_MODEL, dir, { recursive: true });
  damage(dir);
  return dir;
}

const editJson = (dir: string, file: string, edit: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  edit(json);
  writeFileSync(join(dir, file), JSON.stringify(json));
};

describe('broken model folders each get their own message', () => {
  it('folder that does not exist', () => assertLoadFails(join(scratch, 'nope'), 'folder-missing', /not found/));
  it('missing config.json', () => assertLoadFails(brokenCopy((d) => rmSync(join(d, 'config.json'))), 'config-missing', /config\.json is missing/));
  it('corrupt config.json', () => assertLoadFails(brokenCopy((d) => writeFileSync(join(d, 'config.json'), '{"model_type": ')), 'config-invalid', /not valid JSON/));
  it('missing tokenizer.json', () => assertLoadFails(brokenCopy((d) => rmSync(join(d, 'tokenizer.json'))), 'tokenizer-missing', /tokenizer\.json is missing/));
  it('corrupt tokenizer.json', () => assertLoadFails(brokenCopy((d) => writeFileSync(join(d, 'tokenizer.json'), 'not json')), 'tokenizer-invalid', /tokenizer\.json .*not valid JSON/));
  it('tokenizer.json without a model', () => assertLoadFails(brokenCopy((d) => writeFileSync(join(d, 'tokenizer.json'), '{"version":"1.0"}')), 'tokenizer-invalid', /no "model" section/));
  it('no graph file', () => assertLoadFails(brokenCopy((d) => rmSync(join(d, 'onnx'), { recursive: true })), 'graph-missing', /No ONNX graph/));
  it('truncated graph', () =>
    assertLoadFails(brokenCopy((d) => {
      const graph = readFileSync(join(d, 'onnx', 'model.onnx'));
      writeFileSync(join(d, 'onnx', 'model.onnx'), graph.subarray(0, Math.floor(graph.length / 3)));
    }), 'graph-invalid', /ONNX Runtime cannot load/));
  it('a file that is not ONNX at all', () => assertLoadFails(brokenCopy((d) => writeFileSync(join(d, 'onnx', 'model.onnx'), 'hello')), 'graph-invalid', /cannot load/));
  it('graph without logits', () => assertLoadFails(brokenCopy((d) => cpSync(NO_LOGITS_GRAPH, join(d, 'onnx', 'model.onnx'))), 'graph-unsupported', /no logits output/));
  it('vocabulary size disagreeing with the tokenizer', () =>
    assertLoadFails(brokenCopy((d) => editJson(d, 'config.json', (c) => { c.vocab_size = 512; })), 'vocab-mismatch', /vocab_size 512/));
  it('context length of 0', () =>
    assertLoadFails(brokenCopy((d) => editJson(d, 'config.json', (c) => { c.n_positions = 0; c.n_ctx = 0; })), 'context-invalid', /context length/));
  it('absurd context length', () =>
    assertLoadFails(brokenCopy((d) => editJson(d, 'config.json', (c) => { c.n_positions = 1e12; })), 'context-invalid', /context length/));
  it('a tokenizer that does not belong to the model', () =>
    assertLoadFails(brokenCopy((d) => editJson(d, 'tokenizer.json', (t) => {
      const model = t.model as { vocab: Record<string, number> };
      for (let i = 0; i < 200; i++) model.vocab[`extra-token-${i}`] = 400 + i;
    })), 'vocab-mismatch', /does not belong/));
  it('accepts the quantized file name when onnx/model.onnx is absent', async () => {
    const dir = brokenCopy((d) => cpSync(join(d, 'onnx', 'model.onnx'), join(d, 'onnx', 'model_quantized.onnx')));
    rmSync(join(dir, 'onnx', 'model.onnx'));
    const model = await LanguageModel.load(dir, { threads: 1 });
    assert.equal(model.info.vocabSize, 400);
    await model.dispose();
  });
});

describe('parseModelConfig', () => {
  it('estimates the parameters from the dimensions (the preview rules size a quantized graph by them), and none when dimensions are missing', () => {
    const tiny = JSON.parse(readFileSync(join(TINY_MODEL, 'config.json'), 'utf8')) as Record<string, unknown>;
    // 400 x 32 embeddings + 64 x 32 positions + 2 layers x (4 x 32 x 32 attention + 2 x 32 x 128 MLP)
    assert.equal(parseModelConfig(tiny, {}, {}, TINY_MODEL).parameters, 400 * 32 + 64 * 32 + 2 * (4 * 32 * 32 + 2 * 32 * 128));
    assert.equal(parseModelConfig({ n_positions: 64 }, {}, {}, 'x').parameters, undefined);
  });
});
