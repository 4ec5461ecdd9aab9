import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TINY_MODEL } from '../helpers/tokenizers';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'cli.ts');
const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('CLI', () => {
  const file = join(scratch, 'sample.txt');
  const text = 'Hello world 🙂\r\nsecond line\n';
  writeFileSync(file, text);

  it('prints the JSON shape with exact offsets', () => {
    const { code, stdout, stderr } = cli('score', file, '--model', TINY_MODEL, '--json', '--top-k', '3');
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout);
    assert.equal(out.model.vocabSize, 400);
    assert.equal(out.model.contextLength, 64);
    assert.equal(out.model.path, TINY_MODEL);
    assert.equal(out.tokens[0].index, 0);
    assert.equal(out.tokens[0].start, 0);
    assert.equal(out.tokens.at(-1).end, text.length);
    for (const t of out.tokens) {
      for (const key of ['id', 'text', 'start', 'end', 'logprob', 'prob', 'surprisal', 'rank', 'entropy', 'top']) assert.ok(key in t, key);
      assert.equal(t.top.length, 3);
      assert.ok(Math.abs(t.surprisal - -t.logprob / Math.LN2) < 1e-9);
    }
    assert.equal(out.tokens.map((t: { start: number; end: number }) => text.slice(t.start, t.end)).join(''), text);
    assert.equal(out.summary.scoredTokens, out.tokens.length);
    assert.ok(out.summary.perplexity > 1);
  });

  it('prints a readable table by default', () => {
    const { code, stdout } = cli('score', file, '--model', TINY_MODEL);
    assert.equal(code, 0);
    assert.match(stdout, /perplexity \d/);
    assert.match(stdout, / 0-1 /, 'the first token and its range');
  });

  it('exits 2 with one line for a missing file', () => {
    const { code, stderr } = cli('score', join(scratch, 'missing.txt'), '--model', TINY_MODEL);
    assert.equal(code, 2);
    assert.match(stderr, /^surprisal-lens: File not found: .*missing\.txt\n$/);
  });

  it('exits 2 with one line for a broken model folder', () => {
    const { code, stderr } = cli('score', file, '--model', scratch);
    assert.equal(code, 2);
    assert.match(stderr, /^surprisal-lens: config\.json is missing from the model folder .*\n$/);
  });

  it('exits 2 on bad usage', () => {
    assert.equal(cli('frobnicate').code, 2);
    assert.equal(cli('score', file, '--top-k', 'many').code, 2);
  });
});
