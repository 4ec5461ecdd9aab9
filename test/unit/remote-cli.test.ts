/**
 * `surprisal-lens score FILE --remote URL`: the same JSON as local scoring of the same model
 * (the fake vLLM, SGLang and TGI servers answer with the tiny model's numbers), and one-line
 * errors with exit code 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { startFakeEngine, type FakeEngine } from '../helpers/fakeEngines';
import { TINY_MODEL } from '../helpers/tokenizers';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'cli.ts');
const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-remote-cli-'));

/** Runs the CLI without blocking this process (the fake servers answer from it). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface CliToken {
  id: number;
  text: string;
  start: number;
  end: number;
  logprob: number | null;
  rank: number | null;
  top: { id: number; prob: number }[];
}

describe('CLI --remote', () => {
  let model: LanguageModel;
  const servers: FakeEngine[] = [];
  const file = join(scratch, 'sample.txt');
  const text = 'Café 😀 日本\r\n  the end.\n';
  writeFileSync(file, text);

  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    for (const kind of ['vllm', 'sglang', 'tgi'] as const) servers.push(await startFakeEngine({ kind, model }));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await model.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('gives the JSON of local scoring, for each engine', async () => {
    const local = await cli(['score', file, '--model', TINY_MODEL, '--json', '--top-k', '3']);
    assert.equal(local.code, 0, local.stderr);
    const expected = JSON.parse(local.stdout) as { tokens: CliToken[]; summary: Record<string, number> };
    for (const [server, api] of [[servers[0]!, 'openai-completions'], [servers[1]!, 'sglang'], [servers[2]!, 'tgi']] as const) {
      const remote = await cli(['score', file, '--remote', server.url, '--remote-api', api, '--json', '--top-k', '3']);
      assert.equal(remote.code, 0, remote.stderr);
      const out = JSON.parse(remote.stdout) as { model: { name: string; remote: { api: string; gaps: { ranks: string } } }; tokens: CliToken[]; summary: Record<string, number> };
      assert.equal(out.model.name, 'tiny-gpt2');
      assert.equal(out.model.remote.api, api);
      assert.equal(out.tokens.length, expected.tokens.length);
      out.tokens.forEach((token, i) => {
        const want = expected.tokens[i]!;
        assert.deepEqual([token.id, token.text, token.start, token.end], [want.id, want.text, want.start, want.end], `token ${i}`);
        if (want.logprob === null) assert.equal(token.logprob, null);
        else assert.ok(Math.abs(token.logprob! - want.logprob) < 1e-4, `token ${i} logprob`);
        if (api === 'tgi') assert.deepEqual(token.top, [], 'no alternatives from TGI');
        else assert.deepEqual(token.top.map((t) => t.id), want.top.map((t) => t.id), `token ${i} alternatives`);
        if (api === 'openai-completions') assert.equal(token.rank, want.rank);
      });
      assert.ok(Math.abs(out.summary.meanSurprisal! - expected.summary.meanSurprisal!) < 1e-4);
    }
  });

  it('one line and exit code 2 for what the user can fix', async () => {
    const badApi = await cli(['score', file, '--remote', servers[0]!.url, '--remote-api', 'ollama']);
    assert.equal(badApi.code, 2);
    assert.match(badApi.stderr, /^surprisal-lens: --remote-api must be one of auto, openai-completions, sglang, tgi, got ollama\n$/);
    const plainHttp = await cli(['score', file, '--remote', 'http://gpu-01.example:8000']);
    assert.equal(plainHttp.code, 2);
    assert.match(plainHttp.stderr, /^surprisal-lens: The server URL must use https:\/\/ for gpu-01\.example:8000[^\n]*\n$/);
    servers[0]!.fault = (call) => (call.path === '/tokenize' ? { kind: 'status', status: 401, body: `{"message": "invalid key ${String(call.headers.authorization)}"}` } : undefined);
    const refused = await cli(['score', file, '--remote', servers[0]!.url, '--remote-api', 'openai-completions'], { SURPRISAL_LENS_API_KEY: 'sk-cli-secret' });
    servers[0]!.fault = undefined;
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^surprisal-lens: 127\.0\.0\.1:\d+ answered \/tokenize with HTTP 401: invalid key Bearer \*\*\*\n$/);
    assert.equal(servers[0]!.calls.filter((c) => c.path === '/tokenize').at(-1)!.headers.authorization, 'Bearer sk-cli-secret');
  });
});
