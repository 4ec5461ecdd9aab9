/**
 * `surprisal-lens compare FILE --model A --model B [--json]`: the per-word table and both
 * summaries, from the tiny model and the bundled default model (two tokenizers); the JSON's
 * words are the text's words with B - A; usage errors exit 2 with one line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { wordRanges } from '../../src/core/heatUnits';
import { TINY_MODEL } from '../helpers/tokenizers';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'cli.ts');
const DEFAULT_MODEL = join(__dirname, '..', '..', 'models', 'default');
const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-compare-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('CLI compare', { skip: !existsSync(join(DEFAULT_MODEL, 'config.json')) && 'models/default is not built' }, () => {
  const file = join(scratch, 'sample.md');
  const text = 'The cat sat on the mat. Naïve café — 🙂 done.\n';
  writeFileSync(file, text);

  it('--json: every word of the text with both models\' bits and B - A, and both summaries', () => {
    const { code, stdout, stderr } = cli('compare', file, '--model', TINY_MODEL, '--model', DEFAULT_MODEL, '--json');
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout);
    assert.equal(out.models.length, 2);
    assert.equal(out.models[0].path, TINY_MODEL);
    assert.equal(out.models[1].path, DEFAULT_MODEL);
    assert.notEqual(out.models[0].tokens, out.models[1].tokens, 'two tokenizers');
    const { starts, ends } = wordRanges(text);
    assert.deepEqual(out.words.map((w: { start: number }) => w.start), Array.from(starts));
    assert.deepEqual(out.words.map((w: { end: number }) => w.end), Array.from(ends));
    let total = 0;
    for (const w of out.words) {
      assert.equal(w.text, text.slice(w.start, w.end));
      if (w.bitsA === null || w.bitsB === null) continue;
      assert.ok(Math.abs(w.difference - (w.bitsB - w.bitsA)) < 1e-9);
      total += w.difference;
    }
    assert.ok(Math.abs(out.summary.totalDifferenceBits - total) < 1e-6);
    for (const m of out.models) assert.ok(m.summary.bitsPerByte > 0);
  });

  it('prints a table of words and one summary line per model', () => {
    const { code, stdout, stderr } = cli('compare', file, '--model', TINY_MODEL, '--model', DEFAULT_MODEL);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^.*sample\.md: \d+ words; A = .+, B = .+$/m);
    assert.match(stdout, /^ +\d+ +cat +4-7 +\d+\.\d\d +\d+\.\d\d +[+-]?\d+\.\d\d$/m);
    assert.match(stdout, /^A .+: \d+ tokens, \d\.\d{3} bits\/byte, perplexity /m);
    assert.match(stdout, /^B .+: \d+ tokens, \d\.\d{3} bits\/byte, perplexity /m);
    assert.match(stdout, /^B needed more bits on \d+ words and fewer on \d+ /m);
  });

  it('exits 2 with one line without two models, or for a missing file', () => {
    const one = cli('compare', file, '--model', TINY_MODEL);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /^surprisal-lens: usage: surprisal-lens compare /);
    const missing = cli('compare', join(scratch, 'missing.md'), '--model', TINY_MODEL, '--model', TINY_MODEL);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^surprisal-lens: File not found: .*missing\.md\n$/);
    const broken = cli('compare', file, '--model', TINY_MODEL, '--model', scratch);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /^surprisal-lens: config\.json is missing from the model folder .*\n$/);
  });
});
