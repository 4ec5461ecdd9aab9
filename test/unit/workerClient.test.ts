import assert from 'node:assert/strict';
import { buildSync } from 'esbuild';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ScoreSettings } from '../../src/core/types';
import { WorkerClient, WorkerRequestError } from '../../src/worker/workerClient';
import { TINY_MODEL } from '../helpers/tokenizers';

// The worker runs as the same esbuild bundle the extension ships (into the ignored out/).
const WORKER = join(__dirname, '..', '..', 'out', 'test', 'worker.js');
buildSync({
  entryPoints: [join(__dirname, '..', '..', 'src', 'worker', 'worker.ts')],
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], outfile: WORKER, logLevel: 'error',
});
const settings: ScoreSettings = { topK: 5, windowSize: 0, stride: 0 };

describe('inference worker client', () => {
  const client = new WorkerClient(WORKER, { onCrash: (reason) => crashes.push(reason) });
  const crashes: string[] = [];
  after(() => client.dispose());

  it('loads a model and scores in the worker, reusing the unchanged prefix', async () => {
    const loaded = await client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, threads: 1, maxWindow: 1024 } });
    assert.equal(loaded.info.vocabSize, 400);
    assert.equal(loaded.tokenTexts.length, 400);
    const first = await client.request<'score'>({ type: 'score', documentKey: 'doc', version: 1, text: 'Hello there, general.', settings });
    assert.equal(first.version, 1);
    assert.ok(first.scores.tokenCount > 3);
    const second = await client.request<'score'>({ type: 'score', documentKey: 'doc', version: 2, text: 'Hello there, general!', settings });
    assert.ok(second.reusedTokens > 0 && second.reusedTokens < second.scores.tokenCount);
  });

  it('sends the priority range\'s scores before the whole document', async () => {
    const text = 'A line of text that the tiny model scores.\n'.repeat(60);
    const partials: number[] = [];
    const done = await client.request<'score'>(
      { type: 'score', documentKey: 'priority', version: 1, text, settings: { ...settings, windowSize: 32, stride: 16 }, priority: { start: 1000, end: 1100 } },
      undefined,
      undefined,
      (partial) => partials.push(Array.from(partial.scores.logprobs).filter((lp) => !Number.isNaN(lp)).length),
    );
    assert.equal(partials.length, 1);
    assert.ok(partials[0]! > 0 && partials[0]! < done.scores.summary.scoredTokens, `partial ${partials[0]} of ${done.scores.summary.scoredTokens}`);
  });

  it('loads the variant surprisalLens.modelVariant names, names the one it chose otherwise, and refuses one the folder lacks', async () => {
    const chosen = await client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, threads: 1, maxWindow: 1024 } });
    assert.deepEqual(chosen.info.variant, { name: 'fp32', graphFile: 'onnx/model.onnx', bytes: statSync(join(TINY_MODEL, 'onnx', 'model.onnx')).size });
    const named = await client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, variant: 'onnx/model.onnx', threads: 1, maxWindow: 1024 } });
    assert.equal(named.info.variant?.name, 'fp32');
    await assert.rejects(client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, variant: 'q4', threads: 1, maxWindow: 1024 } }), (error: unknown) => {
      assert.ok(error instanceof WorkerRequestError);
      assert.equal(error.info.code, 'variant-missing');
      assert.match(error.message, /has no variant "q4"; it has fp32/);
      return true;
    });
  });

  it('keeps the optimized graph in graphCacheFolder and loads from it the next time, scoring the same', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'surprisal-graph-cache-'));
    try {
      const load = { type: 'load' as const, settings: { modelPath: TINY_MODEL, threads: 1, maxWindow: 1024, graphCacheFolder: folder } };
      const text = 'The cache must not change a single number.';
      await client.request<'load'>(load);
      const fresh = await client.request<'score'>({ type: 'score', documentKey: 'cache-1', version: 1, text, settings });
      const saved = readdirSync(folder).filter((f) => f.endsWith('.onnx'));
      assert.equal(saved.length, 1, `saved: ${readdirSync(folder).join(', ')}`);
      const before = statSync(join(folder, saved[0]!)).mtimeMs;
      await new Promise((resolve) => setTimeout(resolve, 20));
      await client.request<'load'>(load);
      // Found (and touched, for eviction order), not saved again.
      assert.deepEqual(readdirSync(folder).filter((f) => f.endsWith('.onnx')), saved);
      assert.ok(statSync(join(folder, saved[0]!)).mtimeMs > before, 'the second load used the saved graph');
      const cached = await client.request<'score'>({ type: 'score', documentKey: 'cache-2', version: 1, text, settings });
      assert.deepEqual(Array.from(cached.scores.ids), Array.from(fresh.scores.ids));
      for (let i = 0; i < fresh.scores.tokenCount; i++) {
        const a = fresh.scores.logprobs[i]!;
        const b = cached.scores.logprobs[i]!;
        assert.ok(Number.isNaN(a) ? Number.isNaN(b) : Math.abs(a - b) < 1e-5, `token ${i}: ${a} vs ${b}`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('reports a broken model folder as a typed error', async () => {
    await assert.rejects(client.request<'load'>({ type: 'load', settings: { modelPath: '/nonexistent', threads: 1, maxWindow: 1024 } }), (error: unknown) => {
      assert.ok(error instanceof WorkerRequestError);
      assert.equal(error.info.code, 'folder-missing');
      return true;
    });
  });

  it('cancels a request', async () => {
    await client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, threads: 1, maxWindow: 1024 } });
    let cancel!: () => void;
    const signal = {
      isCancellationRequested: false,
      onCancellationRequested(listener: () => void) {
        cancel = () => { signal.isCancellationRequested = true; listener(); };
        return { dispose() {} };
      },
    };
    const long = 'many words in a long document '.repeat(400);
    const pending = client.request<'score'>({ type: 'score', documentKey: 'long', version: 1, text: long, settings: { ...settings, windowSize: 32, stride: 16 } }, signal);
    cancel();
    await assert.rejects(pending, (error: unknown) => error instanceof WorkerRequestError && error.cancelled);
  });

  it('fails pending requests when the worker dies, and works again with a new worker', async () => {
    const pending = client.request<'score'>({ type: 'score', documentKey: 'x', version: 1, text: 'text '.repeat(2000), settings });
    const rejected = assert.rejects(pending, /killed by the test/);
    await client.terminate('killed by the test');
    await rejected;
    const loaded = await client.request<'load'>({ type: 'load', settings: { modelPath: TINY_MODEL, threads: 1, maxWindow: 1024 } });
    assert.equal(loaded.info.name, 'tiny');
    const scored = await client.request<'score'>({ type: 'score', documentKey: 'x', version: 2, text: 'after the restart', settings });
    assert.ok(scored.scores.tokenCount > 0);
  });
});
