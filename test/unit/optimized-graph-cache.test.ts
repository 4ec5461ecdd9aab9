/**
 * The optimized-graph cache (src/core/optimizedGraphCache.ts): a first load saves ONNX
 * Runtime's optimized graph, a second load of the same file uses it and scores the same; a
 * changed file is a new entry, old entries are evicted, a damaged entry is replaced.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readModelFolder } from '../../src/core/modelFolder';
import { OnnxCausalLm } from '../../src/core/onnxModel';
import { OptimizedGraphCache } from '../../src/core/optimizedGraphCache';

const LLAMA = join(__dirname, '..', 'fixtures', 'variants', 'llama');

describe('optimized graph cache', () => {
  let dir: string;
  let cacheDir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graph-cache-model-'));
    cacheDir = mkdtempSync(join(tmpdir(), 'graph-cache-'));
    cpSync(LLAMA, dir, { recursive: true });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  async function logprobs(graphFile: string, cache: OptimizedGraphCache | null, inGraphScoring = true): Promise<{ values: number[]; inGraph: boolean }> {
    const folder = readModelFolder(dir, graphFile);
    const model = await OnnxCausalLm.load(folder.graphPath, folder.config, { intraOpThreads: 1, graphCache: cache, inGraphScoring });
    try {
      const ids = [0, 5, 17, 250, 33, 99, 7];
      const { logits, logitsWidth } = await model.forward(ids, null, false);
      return { values: Array.from(logits.subarray(0, 3 * logitsWidth)), inGraph: model.scoresInGraph };
    } finally {
      await model.release();
    }
  }
  const entries = () => readdirSync(cacheDir).filter((f) => f.endsWith('.onnx'));

  it('saves on the first load, loads the saved graph the second time, with the same results', async () => {
    const cache = new OptimizedGraphCache(cacheDir, 2);
    const uncached = await logprobs('onnx/model.onnx', null);
    const first = await logprobs('onnx/model.onnx', cache);
    assert.equal(entries().length, 1);
    assert.equal(readdirSync(cacheDir).length, 1, 'no partial file left');
    const saved = join(cacheDir, entries()[0]!);
    const old = new Date(Date.now() - 60_000);
    utimesSync(saved, old, old);
    const second = await logprobs('onnx/model.onnx', cache);
    assert.equal(entries().length, 1, 'the same entry');
    assert.ok(readdirSync(cacheDir).map((f) => join(cacheDir, f)).includes(saved));
    assert.ok(cache.find(join(dir, 'onnx', 'model.onnx'), 'scoring'), 'found again');
    assert.ok(second.inGraph && first.inGraph, 'the saved graph is the rewritten one');
    assert.deepEqual(second.values, first.values);
    assert.deepEqual(first.values, uncached.values);
  });

  it('keys by the file: a modified graph is a new entry, and the oldest go', async () => {
    const cache = new OptimizedGraphCache(cacheDir, 2);
    const graph = join(dir, 'onnx', 'model.onnx');
    const later = new Date(Date.now() + 5_000);
    utimesSync(graph, later, later);
    await logprobs('onnx/model.onnx', cache);
    assert.equal(entries().length, 2);
    await logprobs('onnx/model_q4.onnx', cache, false);
    assert.equal(entries().length, 2, 'evicted down to 2');
  });

  it('replaces a damaged entry', async () => {
    const cache = new OptimizedGraphCache(cacheDir, 2);
    const graph = join(dir, 'onnx', 'model_q4.onnx');
    const saved = cache.find(graph, 'plain')!;
    assert.ok(saved);
    writeFileSync(saved, 'not a graph');
    const reference = await logprobs('onnx/model_q4.onnx', null, false);
    const again = await logprobs('onnx/model_q4.onnx', cache, false);
    assert.deepEqual(again.values, reference.values);
    assert.ok(cache.find(graph, 'plain'), 'saved again');
  });
});
