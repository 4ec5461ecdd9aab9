import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import { downloadModel, listRepository, type DownloadOptions, type DownloadProgress } from '../../src/core/hub/download';
import { HubError, type HubErrorCode } from '../../src/core/hub/http';
import { discardUnfinishedDownload, listDownloadedModels, listUnfinishedDownloads, MANIFEST_FILE, modelFolderPath, partialFolderPath, removeDownloadedModel } from '../../src/core/hub/store';
import { sha256, startFakeHub, startFakeProxy, VALID_TOKEN, type FakeHub, type FakeRepo, type RecordedRequest } from '../helpers/fakeHub';
import { TINY_MODEL } from '../helpers/tokenizers';

const read = (file: string) => readFileSync(join(TINY_MODEL, file));
const GRAPH = read('onnx/model.onnx');
/** A different graph file for the q4 dtype, so the two dtypes' contents differ. */
const GRAPH_Q4 = Buffer.concat([GRAPH]);

function tinyRepo(overrides: Record<string, Buffer | undefined> = {}, gated = false): FakeRepo {
  const files: Record<string, Buffer> = {
    '.gitattributes': Buffer.from('*.onnx filter=lfs diff=lfs merge=lfs -text\n'),
    'README.md': Buffer.from('# tiny\n'),
    'config.json': read('config.json'),
    'generation_config.json': read('generation_config.json'),
    'tokenizer.json': read('tokenizer.json'),
    'tokenizer_config.json': read('tokenizer_config.json'),
    'onnx/model.onnx': GRAPH,
    'onnx/model_q4.onnx': GRAPH_Q4,
    // A graph the loader does not look for: never offered.
    'onnx/model_bnb4.onnx': Buffer.from('not a graph'),
  };
  for (const [path, content] of Object.entries(overrides)) {
    if (content) files[path] = content;
    else delete files[path];
  }
  return { files, gated };
}

const TOKEN_HINT = 'run "Set Hugging Face Token"';

describe('Hub downloads (against a local fake Hub)', () => {
  let hub: FakeHub;
  let cacheDir: string;
  const scratch = mkdtempSync(join(tmpdir(), 'surprisal-lens-hub-'));
  let run = 0;

  before(async () => {
    hub = await startFakeHub({
      'test/tiny': tinyRepo(),
      'test/gated': tinyRepo({}, true),
      'test/no-tokenizer': tinyRepo({ 'tokenizer.json': undefined }),
      'test/no-onnx': tinyRepo({ 'onnx/model.onnx': undefined, 'onnx/model_q4.onnx': undefined }),
      'test/external': tinyRepo({ 'onnx/model.onnx_data': Buffer.alloc(70_000, 7), 'onnx/model.onnx_data_1': Buffer.alloc(1000, 9), 'onnx/model_q4.onnx_data': Buffer.alloc(10, 1) }),
    });
  });
  after(async () => {
    await hub.close();
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => {
    cacheDir = join(scratch, `cache-${run++}`);
    hub.fault = undefined;
    hub.requests.length = 0;
  });
  afterEach(() => {
    hub.fault = undefined;
  });

  const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
    repo: 'test/tiny',
    cacheDir,
    endpoint: hub.endpoint,
    retryDelayMs: 0,
    idleTimeoutMs: 20_000,
    reserveBytes: 0,
    tokenHint: TOKEN_HINT,
    ...extra,
  });
  const rejectsWith = async (promise: Promise<unknown>, code: HubErrorCode, message?: RegExp) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof HubError, `a HubError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      if (message) assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line');
      assert.ok(!error.message.includes(VALID_TOKEN), 'no token in the message');
      return true;
    });
  };
  const contentGets = () => hub.requests.filter((r) => r.server === 'content' && r.method === 'GET');
  const firstOnly = (rule: (r: RecordedRequest) => boolean, action: NonNullable<FakeHub['fault']> extends (r: RecordedRequest) => infer A ? A : never) => {
    let used = false;
    hub.fault = (r) => {
      if (used || !rule(r)) return undefined;
      used = true;
      return action;
    };
  };
  const isContentGet = (r: RecordedRequest) => r.server === 'content' && r.method === 'GET';

  it('downloads one dtype into a folder the engine loads, and records the commit', async () => {
    const result = await downloadModel(options({ dtype: 'q4' }));
    assert.equal(result.downloaded, true);
    assert.equal(result.commit, hub.commitOf('test/tiny'));
    assert.equal(result.path, modelFolderPath(cacheDir, 'test/tiny', 'q4'));
    const files = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_q4.onnx'];
    for (const file of files) assert.deepEqual(readFileSync(join(result.path, file)), file === 'onnx/model_q4.onnx' ? GRAPH_Q4 : read(file), file);
    assert.ok(!existsSync(join(result.path, 'onnx', 'model.onnx')), 'only the chosen dtype');
    assert.ok(!existsSync(join(result.path, 'README.md')));
    const manifest = JSON.parse(readFileSync(join(result.path, MANIFEST_FILE), 'utf8'));
    assert.equal(manifest.commit, hub.commitOf('test/tiny'));
    assert.equal(manifest.revision, 'main');
    assert.equal(manifest.files.find((f: { path: string }) => f.path === 'onnx/model_q4.onnx').sha256, sha256(GRAPH_Q4));
    assert.ok(!existsSync(partialFolderPath(cacheDir, 'test/tiny', 'q4')), 'the partial folder was renamed into place');

    const model = await LanguageModel.load(result.path, { threads: 1 });
    try {
      const scores = await model.score('hello world', { topK: 2 });
      assert.ok(scores.tokenCount > 0);
      assert.ok(scores.summary.perplexity > 1);
    } finally {
      await model.dispose();
    }
    const listed = await listDownloadedModels(cacheDir);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].repo, 'test/tiny');
    assert.equal(listed[0].dtype, 'q4');
    assert.equal(listed[0].sizeBytes, files.reduce((sum, f) => sum + statSync(join(result.path, f)).size, 0));
  });

  it('offers only the dtypes the file list has, and says which when asked for another', async () => {
    const listing = await listRepository(options());
    assert.equal(listing.commit, hub.commitOf('test/tiny'));
    assert.ok(listing.files.includes('onnx/model_bnb4.onnx'));
    const { offeredDtypes } = await import('../../src/core/hub/catalogue.ts');
    assert.deepEqual(offeredDtypes(listing.files), ['q4', 'fp32']);
    await rejectsWith(downloadModel(options({ dtype: 'q8' })), 'no-dtype', /test\/tiny has no q8 graph; it offers q4, fp32/);
    assert.equal(contentGets().length, 0);
  });

  it('picks a dtype the repository has when none is named', async () => {
    const result = await downloadModel(options());
    assert.equal(result.dtype, 'q4', 'q8 is preferred but missing; q4 is next');
  });

  it('downloads external data files with the graph', async () => {
    const result = await downloadModel(options({ repo: 'test/external', dtype: 'fp32' }));
    assert.deepEqual(readdirSync(join(result.path, 'onnx')).sort(), ['model.onnx', 'model.onnx_data', 'model.onnx_data_1']);
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx_data')), Buffer.alloc(70_000, 7));
  });

  it('a second download of the same revision fetches nothing; a commit sha needs no request at all', async () => {
    const first = await downloadModel(options({ dtype: 'fp32' }));
    const stamp = statSync(join(first.path, 'onnx', 'model.onnx')).mtimeMs;
    hub.requests.length = 0;
    const second = await downloadModel(options({ dtype: 'fp32' }));
    assert.equal(second.downloaded, false);
    assert.equal(second.path, first.path);
    assert.deepEqual(hub.requests.map((r) => r.url), [`/api/models/test/tiny/revision/main`], 'only the file list, to learn the commit');
    assert.equal(statSync(join(first.path, 'onnx', 'model.onnx')).mtimeMs, stamp);

    hub.requests.length = 0;
    const pinned = await downloadModel(options({ dtype: 'fp32', revision: first.commit }));
    assert.equal(pinned.downloaded, false);
    assert.equal(hub.requests.length, 0);
  });

  it('a new commit fetches only the files that changed', async () => {
    await downloadModel(options({ dtype: 'fp32' }));
    const config = JSON.parse(read('config.json').toString('utf8'));
    const newConfig = Buffer.from(JSON.stringify({ ...config, _name_or_path: 'test/tiny-v2' }));
    const newCommit = hub.setRepo('test/tiny', tinyRepo({ 'config.json': newConfig }));
    hub.requests.length = 0;
    try {
      const result = await downloadModel(options({ dtype: 'fp32' }));
      assert.equal(result.downloaded, true);
      assert.equal(result.commit, newCommit);
      assert.deepEqual(readFileSync(join(result.path, 'config.json')), newConfig);
      assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
      assert.deepEqual(hub.requests.filter((r) => r.method === 'GET' && r.server === 'hub' && r.file).map((r) => r.file), ['config.json']);
      assert.equal(contentGets().length, 0, 'the unchanged graph is reused');
      assert.equal(result.bytesReceived, newConfig.length);
    } finally {
      hub.setRepo('test/tiny', tinyRepo());
    }
  });

  it('resumes with a Range request after the connection drops mid-file', async () => {
    firstOnly(isContentGet, { kind: 'drop-after', bytes: 50_000 });
    const result = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
    const gets = contentGets();
    assert.equal(gets.length, 2);
    assert.equal(gets[0].headers.range, undefined);
    const start = Number(/^bytes=(\d+)-$/.exec(gets[1].headers.range ?? '')?.[1]);
    assert.ok(start > 0 && start <= 50_000, `resumed from ${gets[1].headers.range}`);
    assert.equal(result.bytesReceived, read('config.json').length + read('generation_config.json').length + read('tokenizer.json').length + read('tokenizer_config.json').length + GRAPH.length);
  });

  it('a server that ignores Range restarts the file and still ends right', async () => {
    firstOnly(isContentGet, { kind: 'drop-after', bytes: 50_000 });
    const base = hub.fault!;
    let drops = 0;
    hub.fault = (r) => {
      const action = base(r);
      if (action) return action;
      if (isContentGet(r) && drops++ === 0) return { kind: 'ignore-range' };
      return undefined;
    };
    const result = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
  });

  it('a cancelled download leaves no model, keeps its bytes, and resumes from them', async () => {
    const controller = new AbortController();
    hub.fault = (r) => (isContentGet(r) ? { kind: 'trickle', chunk: 8192, everyMs: 5 } : undefined);
    const events: DownloadProgress[] = [];
    await rejectsWith(downloadModel(options({
      dtype: 'fp32',
      signal: controller.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.file === 'onnx/model.onnx' && p.bytes > 60_000) controller.abort();
      },
    })), 'cancelled');
    const finalPath = modelFolderPath(cacheDir, 'test/tiny', 'fp32');
    assert.ok(!existsSync(finalPath), 'no model folder after a cancel');
    assert.deepEqual(await listDownloadedModels(cacheDir), []);
    const partialGraph = join(partialFolderPath(cacheDir, 'test/tiny', 'fp32'), 'onnx', 'model.onnx');
    const kept = statSync(partialGraph).size;
    assert.ok(kept > 0 && kept < GRAPH.length, `kept ${kept} bytes`);
    assert.ok(events.some((e) => e.phase === 'downloading' && e.totalBytes > GRAPH.length));
    const unfinished = await listUnfinishedDownloads(cacheDir);
    assert.deepEqual(unfinished.map((u) => [u.repo, u.dtype, u.inProgress]), [['test/tiny', 'fp32', false]]);
    assert.ok(unfinished[0].bytes >= kept, 'the small files and the graph so far');

    hub.fault = undefined;
    hub.requests.length = 0;
    const result = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
    assert.deepEqual(contentGets().map((r) => r.headers.range), [`bytes=${kept}-`]);
    assert.equal(hub.requests.filter((r) => r.method === 'GET' && r.file === 'config.json').length, 0, 'finished small files are kept too');
    assert.deepEqual(await listUnfinishedDownloads(cacheDir), []);
  });

  it('a download killed mid-file (a crash) leaves no model; the next one takes over its lock and resumes', async () => {
    hub.fault = (r) => (isContentGet(r) ? { kind: 'trickle', chunk: 4096, everyMs: 10 } : undefined);
    const script = `require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'core', 'hub', 'download.ts'))}).downloadModel(JSON.parse(process.env.DOWNLOAD_OPTIONS)).catch(() => process.exit(3));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, DOWNLOAD_OPTIONS: JSON.stringify(options({ dtype: 'fp32' })) }, stdio: 'inherit' });
    let exited = false;
    child.on('exit', () => (exited = true));
    const partialGraph = join(partialFolderPath(cacheDir, 'test/tiny', 'fp32'), 'onnx', 'model.onnx');
    const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);
    while (size(partialGraph) < 40_000 && !exited) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(!exited, 'the child was still downloading');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(existsSync(`${partialFolderPath(cacheDir, 'test/tiny', 'fp32')}.lock`), 'the dead process left its lock');
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'fp32')));
    const kept = size(partialGraph);

    hub.fault = undefined;
    hub.requests.length = 0;
    const result = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
    assert.deepEqual(contentGets().map((r) => r.headers.range), [`bytes=${kept}-`]);
  });

  it('a full disk while writing is one clear message', async () => {
    // The partial graph file is /dev/full: every write fails with ENOSPC.
    const partial = partialFolderPath(cacheDir, 'test/tiny', 'fp32');
    mkdirSync(join(partial, 'onnx'), { recursive: true });
    const listing = await listRepository(options());
    writeFileSync(join(partial, 'partial.json'), JSON.stringify({ repo: 'test/tiny', commit: listing.commit, etags: { 'onnx/model.onnx': sha256(GRAPH) } }));
    symlinkSync('/dev/full', join(partial, 'onnx', 'model.onnx'));
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'disk-space', /The disk holding .* is full/);
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'fp32')));
  });

  it('an unfinished download can be discarded, but not while it runs', async () => {
    hub.fault = (r) => (isContentGet(r) ? { kind: 'trickle', chunk: 8192, everyMs: 5 } : undefined);
    const controller = new AbortController();
    let running!: () => void;
    const downloading = new Promise<void>((resolve) => (running = resolve));
    const download = downloadModel(options({ dtype: 'fp32', signal: controller.signal, onProgress: (p) => (p.file === 'onnx/model.onnx' ? running() : undefined) }));
    await downloading;
    assert.deepEqual((await listUnfinishedDownloads(cacheDir)).map((u) => u.inProgress), [true]);
    await rejectsWith(discardUnfinishedDownload(cacheDir, 'test/tiny', 'fp32'), 'busy');
    controller.abort();
    await rejectsWith(download, 'cancelled');
    await discardUnfinishedDownload(cacheDir, 'test/tiny', 'fp32');
    assert.deepEqual(await listUnfinishedDownloads(cacheDir), []);
    assert.ok(!existsSync(partialFolderPath(cacheDir, 'test/tiny', 'fp32')));
  });

  it('a checksum mismatch fails with one message, deletes the bad file, and leaves the model in use alone', async () => {
    const good = await downloadModel(options({ dtype: 'fp32' }));
    hub.fault = (r) => (isContentGet(r) ? { kind: 'corrupt' } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'q4' })), 'checksum', /test\/tiny\/onnx\/model_q4\.onnx does not match the Hub's sha256/);
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'q4')));
    assert.ok(!existsSync(join(partialFolderPath(cacheDir, 'test/tiny', 'q4'), 'onnx', 'model_q4.onnx')), 'the bad bytes are gone');
    assert.deepEqual((await listDownloadedModels(cacheDir)).map((m) => m.dtype), ['fp32']);
    assert.deepEqual(readFileSync(join(good.path, 'onnx', 'model.onnx')), GRAPH);
  });

  it('resumed bytes that turn out wrong are fetched again once from the start', async () => {
    let gets = 0;
    hub.fault = (r) => {
      if (!isContentGet(r)) return undefined;
      gets++;
      if (gets === 1) return { kind: 'drop-after', bytes: 40_000 };
      if (gets === 2) return { kind: 'corrupt' }; // the resumed tail is wrong
      return undefined;
    };
    const result = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
    assert.deepEqual(contentGets().map((r) => r.headers.range === undefined), [true, false, true]);
  });

  it('refuses more bytes than announced, and an announced length that is not the file', async () => {
    hub.fault = (r) => (isContentGet(r) ? { kind: 'extra-bytes', bytes: 1000 } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'size-mismatch', /sent more than the \d+ bytes/);
    hub.fault = (r) => (isContentGet(r) ? { kind: 'headers', headers: { 'content-length': '999999999999999' } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'size-mismatch', /announced 999999999999999 bytes/);
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'fp32')));
  });

  it('refuses answers for another commit, and a JSON file that does not parse', async () => {
    hub.fault = (r) => (r.method === 'HEAD' && r.file === 'config.json' ? { kind: 'headers', headers: { 'x-repo-commit': 'f'.repeat(40) } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'bad-response', /config\.json: the Hub answered for commit ffffffffffff instead of/);
    hub.fault = (r) => (r.method === 'GET' && r.file === 'tokenizer_config.json' ? { kind: 'truncate-json' } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'bad-response', /tokenizer_config\.json is not valid JSON/);
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'fp32')));
  });

  it('refuses a redirect loop, a redirect to another scheme, and a JSON file announced as huge', async () => {
    hub.fault = (r) => (r.server === 'content' ? { kind: 'status', status: 302, headers: { location: r.url } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'bad-response', /Too many redirects from 127\.0\.0\.1/);
    hub.fault = (r) => (r.server === 'content' ? { kind: 'status', status: 302, headers: { location: 'file:///etc/passwd' } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'bad-response', /unsupported URL scheme/);
    hub.fault = (r) => (r.method === 'HEAD' && r.file === 'tokenizer.json' ? { kind: 'headers', headers: { 'content-length': '5000000000000' } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'bad-response', /tokenizer\.json is announced at 5000000000000 bytes, too large for a JSON file/);
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'fp32')));
  });

  it('checks free disk space before downloading anything', async () => {
    hub.fault = (r) => (r.server === 'hub' && r.method === 'HEAD' && r.file === 'onnx/model.onnx' ? { kind: 'headers', headers: { 'x-linked-size': '1000000000000000' } } : undefined);
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'disk-space', /Not enough disk space in .*: the download needs 1\.0 \w?B/);
    assert.equal(hub.requests.filter((r) => r.method === 'GET' && r.file).length, 0, 'no file was fetched');
  });

  it('sends the token to the Hub only, never to the content host', async () => {
    const result = await downloadModel(options({ repo: 'test/gated', dtype: 'fp32', token: VALID_TOKEN }));
    assert.equal(result.downloaded, true);
    const hubRequests = hub.requests.filter((r) => r.server === 'hub');
    assert.ok(hubRequests.length >= 6);
    for (const r of hubRequests) assert.equal(r.headers.authorization, `Bearer ${VALID_TOKEN}`, r.url);
    assert.equal(contentGets().length, 1);
    for (const r of hub.requests.filter((q) => q.server === 'content')) assert.equal(r.headers.authorization, undefined);
    const manifest = readFileSync(join(result.path, MANIFEST_FILE), 'utf8');
    assert.ok(!manifest.includes(VALID_TOKEN));
  });

  it('keeps the token out of error messages, even when the server echoes it', async () => {
    hub.fault = (r) => (r.server === 'hub' && r.method === 'HEAD' ? { kind: 'status', status: 403, headers: { 'x-error-message': `token ${VALID_TOKEN} has no access` } } : undefined);
    await rejectsWith(downloadModel(options({ repo: 'test/gated', dtype: 'fp32', token: VALID_TOKEN })), 'forbidden', /the Hub says: token \*\*\* has no access/);
    hub.fault = (r) => (isContentGet(r) ? { kind: 'corrupt' } : undefined);
    await rejectsWith(downloadModel(options({ repo: 'test/gated', dtype: 'fp32', token: VALID_TOKEN })), 'checksum');
  });

  it('a gated repository without a token says so and how to add one', async () => {
    await rejectsWith(downloadModel(options({ repo: 'test/gated', dtype: 'fp32' })), 'unauthorized', /test\/gated\/config\.json: the repository is gated or private.*HTTP 401.*Access to model test\/gated is restricted.*then run "Set Hugging Face Token"/);
    await rejectsWith(downloadModel(options({ repo: 'test/gated', dtype: 'fp32', token: 'hf_wrong' })), 'unauthorized', /refused the token/);
    assert.equal(hub.requests.filter((r) => r.server === 'content').length, 0);
  });

  it('names the problem for a wrong repository, revision, or a repository without what is needed', async () => {
    await rejectsWith(downloadModel(options({ repo: 'test/missing' })), 'unauthorized', /test\/missing at main: the repository is gated or private, or does not exist/);
    await rejectsWith(downloadModel(options({ repo: 'test/missing', token: VALID_TOKEN })), 'not-found', /test\/missing at main: not found \(HTTP 404\)/);
    await rejectsWith(downloadModel(options({ revision: 'no-such-branch' })), 'not-found', /Invalid rev id: no-such-branch/);
    await rejectsWith(downloadModel(options({ repo: 'test/no-tokenizer' })), 'no-tokenizer', /no tokenizer\.json/);
    await rejectsWith(downloadModel(options({ repo: 'test/no-onnx' })), 'no-graph', /no ONNX graph/);
    await rejectsWith(downloadModel(options({ repo: '../etc' })), 'invalid-input');
    await rejectsWith(downloadModel(options({ endpoint: 'ftp://mirror' })), 'invalid-input');
    assert.deepEqual(await listDownloadedModels(cacheDir), []);
  });

  it('says when the Hub cannot be reached', async () => {
    await rejectsWith(downloadModel(options({ endpoint: 'http://127.0.0.1:9', retries: 1 })), 'network', /Cannot reach 127\.0\.0\.1:9: connection refused/);
  });

  it('retries a server error and a stalled connection, then gives up with a timeout', async () => {
    firstOnly(isContentGet, { kind: 'status', status: 503 });
    const ok = await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual(readFileSync(join(ok.path, 'onnx', 'model.onnx')), GRAPH);

    hub.fault = (r) => (isContentGet(r) ? { kind: 'hang-after', bytes: 1000 } : undefined);
    hub.requests.length = 0;
    await rejectsWith(downloadModel(options({ dtype: 'q4', idleTimeoutMs: 300, retries: 2 })), 'timeout', /stopped sending/);
    assert.equal(contentGets().length, 3, 'the first try and two retries');
    assert.ok(!existsSync(modelFolderPath(cacheDir, 'test/tiny', 'q4')));
  });

  it('a slow trickle is not an error, and progress reports a speed', async () => {
    hub.fault = (r) => (isContentGet(r) ? { kind: 'trickle', chunk: 4096, everyMs: 3 } : undefined);
    const events: DownloadProgress[] = [];
    const result = await downloadModel(options({ dtype: 'fp32', onProgress: (p) => events.push(p) }));
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
    const last = events.filter((e) => e.phase === 'downloading').at(-1)!;
    assert.equal(last.bytes, last.totalBytes);
    assert.ok(events.some((e) => e.bytesPerSecond > 0));
    for (let i = 1; i < events.length; i++) if (events[i].phase === 'downloading' && events[i - 1].phase === 'downloading') assert.ok(events[i].bytes >= events[i - 1].bytes);
  });

  it('two downloads of the same model at once: the second is refused, the first completes', async () => {
    hub.fault = (r) => (isContentGet(r) ? { kind: 'trickle', chunk: 8192, everyMs: 5 } : undefined);
    let started!: () => void;
    const downloading = new Promise<void>((resolve) => (started = resolve));
    const first = downloadModel(options({ dtype: 'fp32', onProgress: (p) => (p.file ? started() : undefined) }));
    await downloading;
    await rejectsWith(downloadModel(options({ dtype: 'fp32' })), 'busy', /already being downloaded/);
    const result = await first;
    assert.deepEqual(readFileSync(join(result.path, 'onnx', 'model.onnx')), GRAPH);
  });

  it('goes through a proxy when one is set', async () => {
    const proxy = await startFakeProxy(hub.requests);
    try {
      const result = await downloadModel(options({ repo: 'test/gated', dtype: 'fp32', token: VALID_TOKEN, proxy: { url: proxy.url } }));
      assert.equal(result.downloaded, true);
      const relayed = hub.requests.filter((r) => r.server === 'proxy');
      assert.ok(relayed.some((r) => r.url.startsWith(hub.endpoint)));
      assert.ok(relayed.some((r) => r.url.startsWith(hub.contentOrigin)));
      for (const r of relayed.filter((q) => q.url.startsWith(hub.contentOrigin))) assert.equal(r.headers.authorization, undefined);
    } finally {
      await proxy.close();
    }
  });

  it('lists and removes downloaded models', async () => {
    const q4 = await downloadModel(options({ dtype: 'q4' }));
    await downloadModel(options({ dtype: 'fp32' }));
    assert.deepEqual((await listDownloadedModels(cacheDir)).map((m) => `${m.repo} ${m.dtype}`), ['test/tiny fp32', 'test/tiny q4']);
    const freed = await removeDownloadedModel(cacheDir, q4.path);
    assert.ok(freed >= GRAPH_Q4.length);
    assert.ok(!existsSync(q4.path));
    assert.deepEqual((await listDownloadedModels(cacheDir)).map((m) => m.dtype), ['fp32']);
    await assert.rejects(removeDownloadedModel(cacheDir, scratch), /not a downloaded model folder/);
    await assert.rejects(removeDownloadedModel(cacheDir, join(cacheDir, 'models', '..', '..')), /not a downloaded model folder/);
  });
});
