/**
 * Broken model folders beyond test/unit/modelFolder.test.ts: hand-built
 * graphs with a key/value input but no matching output, an input the engine cannot fill, an
 * integer cache, last-position-only logits (test/fixtures/models/make-broken-graphs.py writes
 * them); and the same failures through the inference worker: each load fails with a typed
 * error carrying the folder-problem code, in one line, and a later load of a good folder
 * succeeds in the same worker (the setting was fixed: no restart, no crash).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { ModelFolderError, type ModelFolderErrorCode } from '../../src/core/modelFolder';
import type { LoadSettings } from '../../src/shared/workerProtocol';
import { WorkerClient, WorkerRequestError } from '../../src/worker/workerClient';
import { assertLoadFails } from '../helpers/modelFolders';
import { TINY_MODEL } from '../helpers/tokenizers';
import { buildWorker, SMALL_WINDOW, workerOf } from '../helpers/workerBundle';

const FIXTURES = join(__dirname, '..', 'fixtures', 'models');
const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-reliability-folders-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
/** A copy of the tiny model, changed by `damage`. */
function copyOfTiny(damage: (dir: string) => void = () => {}): string {
  const dir = join(scratch, `model-${counter++}`);
  cpSync(TINY_MODEL, dir, { recursive: true });
  damage(dir);
  return dir;
}
const withGraph = (fixture: string) => copyOfTiny((d) => cpSync(join(FIXTURES, fixture), join(d, 'onnx', 'model.onnx')));
const editJson = (file: string, edit: (json: Record<string, unknown>) => void) => (dir: string) => {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  edit(json);
  writeFileSync(join(dir, file), JSON.stringify(json));
};

describe('broken graphs (hand-built ONNX fixtures)', () => {
  it('past_key_values inputs without matching present outputs', () =>
    assertLoadFails(withGraph('past-without-present.onnx'), 'graph-unsupported', /takes past_key_values\.0\.value but has no matching present\.0\.value output/));
  it('an input the engine cannot fill (token_type_ids)', () =>
    assertLoadFails(withGraph('unknown-input.onnx'), 'graph-unsupported', /needs an input the engine does not know how to fill: token_type_ids/));
  it('an integer key/value cache', () =>
    assertLoadFails(withGraph('integer-cache.onnx'), 'graph-unsupported', /past_key_values\.0\.key has type int64/));

  // Before 87c4590 such a graph passed the load (the probe ran one token) and failed here.
  it('logits for the last position only: refused at load, or at the latest on the first scoring, never a wrong result', async () => {
    const dir = withGraph('last-logits-only.onnx');
    let model: LanguageModel | null = null;
    try {
      model = await LanguageModel.load(dir, { threads: 1 });
    } catch (error) {
      assert.ok(error instanceof ModelFolderError && error.code === 'graph-unsupported', String(error));
      return; // rejected at load: the better outcome
    }
    try {
      await assert.rejects(model.score('two tokens or more'), (error: unknown) => {
        assert.ok(error instanceof ModelFolderError, String(error));
        assert.equal(error.code, 'graph-unsupported');
        assert.match(error.message, /returned logits for 1 positions, expected \d+/);
        return true;
      });
    } finally {
      await model.dispose();
    }
  });

  // The load-time probe runs two tokens, so such a graph is refused before any scoring.
  it('logits for the last position only are refused at load', () =>
    assertLoadFails(withGraph('last-logits-only.onnx'), 'graph-unsupported', /logits/));
});

describe('broken folders through the inference worker', () => {
  const crashes: string[] = [];
  let client: WorkerClient;
  const settings = (modelPath: string): LoadSettings => ({ modelPath, threads: 1, maxWindow: 1024 });
  const folders: Record<string, { dir: string; code: ModelFolderErrorCode }> = {};

  before(() => {
    client = new WorkerClient(buildWorker('reliability-folders-worker'), { onCrash: (reason) => crashes.push(reason) });
    folders['past without present'] = { dir: withGraph('past-without-present.onnx'), code: 'graph-unsupported' };
    folders['missing folder'] = { dir: join(scratch, 'does-not-exist'), code: 'folder-missing' };
    folders['missing config.json'] = { dir: copyOfTiny((d) => rmSync(join(d, 'config.json'))), code: 'config-missing' };
    folders['corrupt tokenizer.json'] = { dir: copyOfTiny((d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": ')), code: 'tokenizer-invalid' };
    folders['non-ONNX graph'] = { dir: copyOfTiny((d) => writeFileSync(join(d, 'onnx', 'model.onnx'), 'not a graph')), code: 'graph-invalid' };
    folders['no logits'] = { dir: withGraph('no-logits.onnx'), code: 'graph-unsupported' };
    folders['vocabulary mismatch'] = { dir: copyOfTiny(editJson('config.json', (c) => { c.vocab_size = 512; })), code: 'vocab-mismatch' };
    folders['context length 0'] = { dir: copyOfTiny(editJson('config.json', (c) => { c.n_positions = 0; c.n_ctx = 0; })), code: 'context-invalid' };
  });
  after(() => client.dispose());

  async function assertWorkerLoadFails(dir: string, code: ModelFolderErrorCode): Promise<void> {
    await assert.rejects(client.request<'load'>({ type: 'load', settings: settings(dir) }), (error: unknown) => {
      assert.ok(error instanceof WorkerRequestError, `a WorkerRequestError, got ${String(error)}`);
      assert.equal(error.info.code, code, error.message);
      assert.ok(error.message.length > 10 && !error.message.includes('\n'), `one clear line: ${error.message}`);
      return true;
    });
  }

  it('each broken folder fails its load with its own code; scoring then says no model is loaded', async () => {
    for (const [name, { dir, code }] of Object.entries(folders)) {
      await assertWorkerLoadFails(dir, code).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
      await assert.rejects(
        client.request<'score'>({ type: 'score', documentKey: 'doc', version: 1, text: 'hello', settings: SMALL_WINDOW }),
        (error: unknown) => error instanceof WorkerRequestError && error.info.code === 'no-model',
      );
    }
    assert.deepEqual(crashes, [], 'the worker never crashed');
  });

  it('recovers when the setting is fixed: a good folder loads and scores in the same worker', async () => {
    const before = workerOf(client);
    await assertWorkerLoadFails(folders['past without present']!.dir, 'graph-unsupported');
    const loaded = await client.request<'load'>({ type: 'load', settings: settings(TINY_MODEL) });
    assert.equal(loaded.info.vocabSize, 400);
    const scored = await client.request<'score'>({ type: 'score', documentKey: 'doc', version: 2, text: 'The model works again.', settings: SMALL_WINDOW });
    assert.ok(scored.scores.tokenCount > 3);
    for (const lp of scored.scores.logprobs) assert.ok(Number.isFinite(lp) && lp <= 0);

    // Broken again (the good model is unloaded, not kept half-working), then fixed again.
    await assertWorkerLoadFails(folders['vocabulary mismatch']!.dir, 'vocab-mismatch');
    await assert.rejects(
      client.request<'score'>({ type: 'score', documentKey: 'doc', version: 3, text: 'hello', settings: SMALL_WINDOW }),
      (error: unknown) => error instanceof WorkerRequestError && error.info.code === 'no-model',
    );
    await client.request<'load'>({ type: 'load', settings: settings(copyOfTiny()) });
    const again = await client.request<'score'>({ type: 'score', documentKey: 'doc', version: 4, text: 'The model works again.', settings: SMALL_WINDOW });
    assert.deepEqual(Array.from(again.scores.logprobs), Array.from(scored.scores.logprobs), 'same model, same scores');

    assert.equal(workerOf(client), before, 'the same worker thread throughout');
    assert.ok(client.running);
    assert.deepEqual(crashes, []);
  });
});
