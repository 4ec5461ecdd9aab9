/** Shared checks for tests of broken model folders. */
import assert from 'node:assert/strict';
import { LanguageModel } from '../../src/core/engine';
import { ModelFolderError, type ModelFolderErrorCode } from '../../src/core/modelFolder';

/** Loading `dir` fails with a ModelFolderError of `code` whose one-line message matches. */
export async function assertLoadFails(dir: string, code: ModelFolderErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(LanguageModel.load(dir, { threads: 1 }), (error: unknown) => {
    assert.ok(error instanceof ModelFolderError, `a ModelFolderError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}
