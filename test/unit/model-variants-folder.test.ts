/**
 * Choosing among a folder's variants (listModelVariants, resolveModelVariant) and the ways a
 * variant can be unusable: an external data file missing or truncated, a quantized operator
 * ONNX Runtime's CPU build lacks, a model too large for the free memory. Each is one line of
 * ModelFolderError, found before anything is loaded where possible, and a model loaded before
 * keeps working.
 */
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { listModelVariants, resolveModelVariant } from '../../src/core/modelFolder';
import { checkGraphFiles, checkMemory, LOAD_MEMORY_FACTOR } from '../../src/core/onnxModel';
import { assertLoadFails } from '../helpers/modelFolders';
import { TINY_MODEL } from '../helpers/tokenizers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'variants');
const LLAMA = join(FIXTURES, 'llama');

describe('the variants of a model folder', () => {
  it('lists every graph with its dtype name, files and size, in the automatic order', () => {
    const variants = listModelVariants(LLAMA);
    assert.deepEqual(variants.map((v) => v.name), [
      'fp32', 'merged fp32', 'fp16', 'q8', 'uint8', 'q4', 'q4f16', 'bnb4',
      'onnx/model_external.onnx', 'onnx/model_logits_to_keep.onnx', 'onnx/model_q4_block128.onnx',
    ]);
    const external = variants.find((v) => v.graphFile === 'onnx/model_external.onnx')!;
    assert.deepEqual(external.files, ['onnx/model_external.onnx', 'onnx/model_external.onnx_data', 'onnx/model_external.onnx_data_1']);
    assert.equal(external.bytes, external.files.reduce((sum, f) => sum + statSync(join(LLAMA, f)).size, 0));
    const q4 = variants.find((v) => v.name === 'q4')!;
    assert.equal(q4.graphFile, 'onnx/model_q4.onnx');
    assert.match(q4.description, /4-bit/);
  });

  it('resolves the automatic choice, a name, a path; a missing variant names those present', () => {
    assert.equal(resolveModelVariant(LLAMA).graphFile, 'onnx/model.onnx');
    assert.equal(resolveModelVariant(LLAMA, '').name, 'fp32');
    assert.equal(resolveModelVariant(LLAMA, 'q4f16').graphFile, 'onnx/model_q4f16.onnx');
    assert.equal(resolveModelVariant(LLAMA, 'onnx/model_q4_block128.onnx').name, 'onnx/model_q4_block128.onnx');
    assert.equal(resolveModelVariant(TINY_MODEL).name, 'fp32');
    assert.equal(resolveModelVariant(LLAMA, 'bnb4').graphFile, 'onnx/model_bnb4.onnx');
    assert.throws(() => resolveModelVariant(LLAMA, 'int8'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'variant-missing');
      assert.match(error.message, /no variant "int8"; it has fp32, merged fp32, fp16, q8, uint8, q4, q4f16, bnb4/);
      return true;
    });
  });

  it('picks the most faithful variant present when there is no fp32 file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'variants-'));
    try {
      cpSync(LLAMA, dir, { recursive: true });
      for (const f of ['model.onnx', 'decoder_model_merged.onnx', 'model_fp16.onnx']) unlinkSync(join(dir, 'onnx', f));
      assert.equal(resolveModelVariant(dir).name, 'q8');
      unlinkSync(join(dir, 'onnx', 'model_quantized.onnx'));
      unlinkSync(join(dir, 'onnx', 'model_uint8.onnx'));
      assert.equal(resolveModelVariant(dir).name, 'q4');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unusable variants', () => {
  let dir: string;
  let loaded: LanguageModel;
  let before_: Float64Array;
  const TEXT = 'def main():\n    print("hello, world")\n';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'variants-bad-'));
    cpSync(LLAMA, dir, { recursive: true });
    copyFileSync(join(FIXTURES, 'unsupported', 'qordered-matmul.onnx'), join(dir, 'onnx', 'model_qordered.onnx'));
    copyFileSync(join(FIXTURES, 'unsupported', 'matmulnbits-3bit.onnx'), join(dir, 'onnx', 'model_q3.onnx'));
    // The model in use while the others fail to load.
    loaded = await LanguageModel.load(LLAMA, { threads: 1, graphFile: 'onnx/model_q4.onnx' });
    before_ = (await loaded.score(TEXT)).logprobs;
  });
  after(async () => {
    await loaded.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const fails = (graphFile: string, code: Parameters<typeof assertLoadFails>[1], message: RegExp) =>
    assert.rejects(LanguageModel.load(dir, { threads: 1, graphFile }), (error: Error & { code?: string }) => {
      assert.equal(error.name, 'ModelFolderError', String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });

  it('a missing external data file', async () => {
    const data = join(dir, 'onnx', 'model_external.onnx_data_1');
    const saved = join(dir, 'saved_data_1');
    copyFileSync(data, saved);
    unlinkSync(data);
    try {
      await fails('onnx/model_external.onnx', 'external-data-missing', /model_external\.onnx keeps weights in model_external\.onnx_data_1, which is missing from /);
    } finally {
      copyFileSync(saved, data);
    }
  });

  it('a truncated external data file', async () => {
    const data = join(dir, 'onnx', 'model_external.onnx_data');
    const size = statSync(data).size;
    truncateSync(data, size - 100);
    await fails('onnx/model_external.onnx', 'external-data-missing', new RegExp(`model_external\\.onnx_data is truncated: ${size - 100} bytes, but model_external\\.onnx reads up to byte ${size}`));
  });

  it('a quantized operator without a CPU kernel (QOrderedMatMul)', async () => {
    await fails('onnx/model_qordered.onnx', 'operator-unsupported', /model_qordered\.onnx uses the operator QOrderedMatMul, which ONNX Runtime [\d.]+ \(CPU\) cannot run; choose another variant/);
  });

  it('a quantized operator with a setting the CPU kernel refuses (3-bit MatMulNBits)', async () => {
    await fails('onnx/model_q3.onnx', 'operator-unsupported', /model_q3\.onnx: ONNX Runtime [\d.]+ \(CPU\) cannot run its MatMulNBits nodes \(Only 2b, 4b and 8b quantization is supported/);
  });

  it('a model larger than the free memory, checked from the file sizes before loading', () => {
    const graph = join(LLAMA, 'onnx', 'model_external.onnx');
    const files = checkGraphFiles(graph, 1e12);
    assert.equal(files.files.length, 3);
    assert.equal(files.bytes, listModelVariants(LLAMA).find((v) => v.graphFile === 'onnx/model_external.onnx')!.bytes);
    assert.throws(() => checkGraphFiles(graph, files.bytes), /model_external\.onnx needs about 0\.0 GB of memory to load/);
    assert.doesNotThrow(() => checkGraphFiles(graph, files.bytes * LOAD_MEMORY_FACTOR));
    assert.throws(() => checkMemory(2e9, 1.2e9, 'model.onnx'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'memory-insufficient');
      assert.equal(error.message, 'model.onnx needs about 3.0 GB of memory to load (2.0 GB of files) but 1.2 GB is free; choose a smaller variant (surprisalLens.modelVariant) or free memory');
      return true;
    });
  });

  it('the model loaded before keeps scoring, unchanged', async () => {
    const after_ = (await loaded.score(TEXT)).logprobs;
    assert.deepEqual(Array.from(after_), Array.from(before_));
  });
});
