import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATALOGUE, DTYPES, defaultDtype, externalDataFiles, graphFileIn, graphFilesFor, offeredDtypes } from '../../src/core/hub/catalogue';
import { planFiles } from '../../src/core/hub/download';
import { GRAPH_CANDIDATES } from '../../src/core/modelFolder';

describe('Hub catalogue and file choice', () => {
  it('every dtype names a graph file the model loader looks for', () => {
    for (const dtype of DTYPES) {
      const files = graphFilesFor(dtype);
      assert.ok(files.length > 0, dtype);
      for (const file of files) assert.ok((GRAPH_CANDIDATES as readonly string[]).includes(file), file);
    }
    assert.deepEqual(graphFilesFor('q8'), ['onnx/model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx']);
    assert.equal(graphFilesFor('q4')[0], 'onnx/model_q4.onnx');
  });

  it('each catalogue entry is complete and recommends a dtype it lists', () => {
    const repos = CATALOGUE.map((e) => e.repo);
    for (const wanted of ['HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-360M-Instruct', 'onnx-community/Qwen2.5-0.5B-Instruct', 'onnx-community/Qwen2.5-Coder-0.5B-Instruct', 'onnx-community/Llama-3.2-1B-Instruct', 'Xenova/gpt2']) {
      assert.ok(repos.includes(wanted), wanted);
    }
    for (const entry of CATALOGUE) {
      assert.match(entry.repo, /^[\w.-]+\/[\w.-]+$/);
      assert.ok(entry.parametersM > 0 && entry.licence !== '' && entry.goodFor !== '', entry.repo);
      assert.ok(entry.sizesMB[entry.recommendedDtype]! > 0, `${entry.repo} lists its recommended dtype`);
    }
    assert.deepEqual(CATALOGUE.filter((e) => e.gated).map((e) => e.repo), ['onnx-community/Llama-3.2-1B-Instruct']);
  });

  it('offers what a reported layout has (SmolLM2-135M: no model_quantized; bnb4 is not among the dtypes offered for download, though it loads when a folder has it)', () => {
    const smol = ['config.json', 'tokenizer.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_q4.onnx', 'onnx/model_q4f16.onnx', 'onnx/model_bnb4.onnx'];
    assert.deepEqual(offeredDtypes(smol), ['q4', 'q4f16', 'fp16', 'fp32']);
    assert.equal(defaultDtype(offeredDtypes(smol), 'HuggingFaceTB/SmolLM2-135M-Instruct'), 'fp32', 'the catalogue recommendation');
    assert.equal(defaultDtype(offeredDtypes(smol), 'someone/else'), 'q4', 'q8 first, then q4');
    assert.deepEqual(offeredDtypes(['onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged_quantized.onnx']), ['q8', 'fp32'], 'the older Optimum names (Xenova/gpt2)');
    assert.equal(graphFileIn(['onnx/model.onnx', 'onnx/decoder_model_merged.onnx'], 'fp32'), 'onnx/model.onnx');
    assert.deepEqual(offeredDtypes(['config.json', 'model.safetensors']), []);
  });

  it('takes a graph\'s external data files from the file list, in order', () => {
    const files = ['onnx/model.onnx', 'onnx/model.onnx_data_10', 'onnx/model.onnx_data', 'onnx/model.onnx_data_2', 'onnx/model_fp16.onnx_data', 'onnx/model.onnx_database'];
    assert.deepEqual(externalDataFiles(files, 'onnx/model.onnx'), ['onnx/model.onnx_data', 'onnx/model.onnx_data_2', 'onnx/model.onnx_data_10']);
    const listing = { repo: 'o/n', commit: 'a'.repeat(40), files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md', ...files] };
    assert.deepEqual(planFiles(listing, 'fp32'), ['config.json', 'tokenizer_config.json', 'tokenizer.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model.onnx_data_2', 'onnx/model.onnx_data_10']);
  });
});
