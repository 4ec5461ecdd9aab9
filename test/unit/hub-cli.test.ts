import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { proxyFromEnv } from '../../src/core/hub/http';
import { defaultCacheDir } from '../../src/core/hub/store';
import { startFakeHub, VALID_TOKEN, type FakeHub } from '../helpers/fakeHub';
import { TINY_MODEL } from '../helpers/tokenizers';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'cli.ts');
const read = (file: string) => readFileSync(join(TINY_MODEL, file));

/** Runs the CLI asynchronously: the fake Hub lives in this process and must keep answering. */
function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cleanEnv = { ...process.env };
  for (const key of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) delete cleanEnv[key];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...cleanEnv, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('CLI: download, models, remove, score --model <repo>', () => {
  let hub: FakeHub;
  const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-hub-cli-'));
  const cacheDir = join(scratch, 'cache');
  const env = () => ({ SURPRISAL_LENS_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint });

  before(async () => {
    const files = {
      'config.json': read('config.json'),
      'tokenizer.json': read('tokenizer.json'),
      'tokenizer_config.json': read('tokenizer_config.json'),
      'onnx/model.onnx': read('onnx/model.onnx'),
    };
    hub = await startFakeHub({ 'test/tiny': { files, gated: true } });
  });
  after(async () => {
    await hub.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a gated repository without HF_TOKEN: exit 2, one line saying how to add a token', async () => {
    const { code, stdout, stderr } = await cli(env(), 'download', 'test/tiny');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^surprisal-lens: test\/tiny\/config\.json: the repository is gated or private.*set HF_TOKEN to a token with read access.*\n$/);
    assert.equal(stderr.split('\n').length, 2, 'one line');
  });

  it('downloads with HF_TOKEN, prints the folder on stdout and progress on stderr, never the token', async () => {
    const { code, stdout, stderr } = await cli({ ...env(), HF_TOKEN: VALID_TOKEN }, 'download', 'test/tiny', '--dtype', 'fp32');
    assert.equal(code, 0, stderr);
    const folder = stdout.trim();
    assert.equal(folder, join(cacheDir, 'models', 'test--tiny--fp32'));
    assert.deepEqual(readFileSync(join(folder, 'onnx', 'model.onnx')), read('onnx/model.onnx'));
    assert.match(stderr, /downloading onnx\/model\.onnx .* of /);
    assert.match(stderr, new RegExp(`Downloaded test/tiny \\(fp32, commit ${hub.commitOf('test/tiny').slice(0, 7)}\\)`));
    assert.ok(!stderr.includes(VALID_TOKEN) && !stdout.includes(VALID_TOKEN));
    assert.ok(hub.requests.some((r) => r.headers.authorization === `Bearer ${VALID_TOKEN}`));

    const again = await cli({ ...env(), HF_TOKEN: VALID_TOKEN }, 'download', 'test/tiny', '--dtype', 'fp32', '--endpoint', hub.endpoint);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /test\/tiny \(fp32\) is up to date/);
  });

  it('lists downloaded models, scores with one by its repository id, and removes it', async () => {
    const listed = await cli(env(), 'models', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const models = JSON.parse(listed.stdout);
    assert.deepEqual(models.map((m: { repo: string; dtype: string; commit: string }) => [m.repo, m.dtype, m.commit]), [['test/tiny', 'fp32', hub.commitOf('test/tiny')]]);
    const table = await cli(env(), 'models');
    assert.match(table.stdout, /^test\/tiny {2}fp32 {2}\d+(\.\d)? kB {2}[0-9a-f]{7} {2}\d{4}-\d\d-\d\d {2}\S+test--tiny--fp32\n$/);

    const text = join(scratch, 'sample.txt');
    writeFileSync(text, 'Hello world\n');
    const scored = await cli(env(), 'score', text, '--model', 'test/tiny', '--json');
    assert.equal(scored.code, 0, scored.stderr);
    assert.equal(JSON.parse(scored.stdout).model.path, models[0].path);

    const removed = await cli(env(), 'remove', 'test/tiny');
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stderr, /Removed test\/tiny \(fp32\), .* freed/);
    assert.ok(!existsSync(models[0].path));
    const missing = await cli(env(), 'score', text, '--model', 'test/tiny');
    assert.equal(missing.code, 2);
  });

  it('refuses a bad dtype or repository id with exit 2', async () => {
    assert.match((await cli(env(), 'download', 'test/tiny', '--dtype', 'int3')).stderr, /--dtype must be one of q4, q4f16, q8, fp16, fp32/);
    const bad = await cli(env(), 'download', 'not a repo');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Not a Hugging Face repository id/);
  });

  it('reads the cache folder and proxy from the environment', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }), '/xdg/surprisal-lens');
    assert.equal(defaultCacheDir({ SURPRISAL_LENS_CACHE: '/elsewhere', XDG_CACHE_HOME: '/xdg' }), '/elsewhere');
    assert.match(defaultCacheDir({}), /\.cache\/surprisal-lens$/);
    assert.deepEqual(proxyFromEnv(undefined, { HTTPS_PROXY: 'http://proxy:3128' }), { url: 'http://proxy:3128' });
    assert.equal(proxyFromEnv(undefined, { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.huggingface.co' }), undefined);
    assert.equal(proxyFromEnv('http://127.0.0.1:8080', { HTTP_PROXY: 'http://proxy:3128' }), undefined);
    assert.equal(proxyFromEnv('https://mirror.example', { HTTP_PROXY: 'http://proxy:3128' }), undefined, 'HTTP_PROXY is for http URLs');
  });
});
