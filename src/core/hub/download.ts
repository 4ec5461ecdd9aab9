/**
 * Downloads one dtype of a Hugging Face repository into a model folder the engine loads as
 * is. Files land in a partial folder first and the folder is renamed into place only when
 * every file is complete and checked, so a partial download is never loaded. An interrupted
 * download (cancel, crash, lost connection) resumes with HTTP Range from the bytes on disk.
 *
 * Hub facts relied on (shared/MODEL-SOURCES.md): `/api/models/{repo}/revision/{rev}` lists
 * `sha` and `siblings[].rfilename`; `/{repo}/resolve/{rev}/{path}` answers HEAD with
 * `X-Repo-Commit`, and for large files a 302 to a content host with `X-Linked-Size` and
 * `X-Linked-Etag` (the content's sha256); small files' `ETag` is a git blob sha1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defaultDtype, externalDataFiles, graphFileIn, offeredDtypes, type Dtype } from './catalogue';
import {
  cancelled,
  DEFAULT_ENDPOINT,
  headerText,
  HubError,
  hubRequest,
  readBody,
  readSmallBody,
  statusError,
  type HttpSettings,
  type ProxySettings,
} from './http';
import { acquireLock, MANIFEST_FILE, modelFolderPath, PARTIAL_STATE, partialFolderPath, readManifest, type DownloadManifest, type ManifestFile } from './store';

export interface DownloadOptions {
  /** `owner/name`. */
  readonly repo: string;
  /** Branch, tag or commit; default `main`. */
  readonly revision?: string;
  /** Default: the catalogue's recommendation, else the smallest the repository offers. */
  readonly dtype?: Dtype;
  /** Root of the downloads (models/ and partial/ are made inside). */
  readonly cacheDir: string;
  /** The Hub or a mirror; default https://huggingface.co. */
  readonly endpoint?: string;
  readonly token?: string;
  readonly proxy?: ProxySettings;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** How the user adds a token, finishing the sentence "Accept its terms on the Hub, then ...". */
  readonly tokenHint?: string;
  /** Default 30 s without a byte. */
  readonly idleTimeoutMs?: number;
  /** Attempts per request after the first, for lost connections, timeouts and 5xx; default 4. */
  readonly retries?: number;
  /** Pause before retry n is n times this; default 1000 ms. */
  readonly retryDelayMs?: number;
  /** Free space kept on the disk beyond the download itself; default 100 MB. */
  readonly reserveBytes?: number;
}

export interface DownloadProgress {
  /** 'checking': reading the file list and sizes; 'downloading'; 'verifying': sha256 of a finished file. */
  readonly phase: 'checking' | 'downloading' | 'verifying';
  /** File being worked on (path in the repository), when there is one. */
  readonly file?: string;
  /** Bytes of the whole model on disk so far (kept from an earlier try included). */
  readonly bytes: number;
  /** Bytes of the whole model; 0 while unknown. */
  readonly totalBytes: number;
  /** Download speed over the last few seconds, bytes per second. */
  readonly bytesPerSecond: number;
}

export interface DownloadResult {
  /** The model folder, ready to load. */
  readonly path: string;
  readonly repo: string;
  readonly revision: string;
  readonly commit: string;
  readonly dtype: Dtype;
  /** False when the same commit was already downloaded: nothing was fetched. */
  readonly downloaded: boolean;
  /** Bytes received over the network by this call. */
  readonly bytesReceived: number;
}

export interface RepoListing {
  readonly repo: string;
  readonly commit: string;
  readonly files: readonly string[];
}

interface RemoteFile {
  readonly path: string;
  readonly size: number;
  /** sha256 of the content (large files), from X-Linked-Etag. */
  readonly sha256: string | undefined;
  /** Identity of the content, to tell whether a file kept from before is still the same. */
  readonly etag: string;
}

/** What the partial folder holds, so a resumed download keeps only bytes of the same content. */
interface PartialState {
  readonly repo: string;
  readonly dtype: Dtype;
  readonly commit: string;
  readonly etags: Record<string, string>;
}


const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;
/** JSON files larger than this are refused (the largest real tokenizer.json is tens of MB). */
const MAX_JSON_BYTES = 256 * 1024 * 1024;
const MAX_LISTING_BYTES = 32 * 1024 * 1024;

export function checkRepoId(repo: string): void {
  if (!REPO_ID.test(repo) || repo.includes('..')) throw new HubError('invalid-input', `Not a Hugging Face repository id: "${repo.slice(0, 100)}" (expected owner/name)`);
}

function checkRevision(revision: string): void {
  if (revision === '' || revision.length > 256 || /[\s\\]|\.\./.test(revision)) throw new HubError('invalid-input', `Not a valid revision: "${revision.slice(0, 100)}"`);
}

function httpSettings(options: DownloadOptions): HttpSettings {
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new HubError('invalid-input', `Not a valid Hub endpoint URL: "${endpoint.slice(0, 100)}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new HubError('invalid-input', `The Hub endpoint must be an http(s) URL, got ${parsed.protocol}`);
  return { endpoint, token: options.token || undefined, proxy: options.proxy, idleTimeoutMs: options.idleTimeoutMs ?? 30_000, signal: options.signal };
}

function resolveUrl(settings: HttpSettings, repo: string, revision: string, path: string): URL {
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return new URL(`${settings.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`);
}

const DEFAULT_TOKEN_HINT = 'set a Hugging Face token with read access';

/** Reads a repository's commit and file list at a revision. */
export async function listRepository(options: Pick<DownloadOptions, 'repo' | 'revision' | 'endpoint' | 'token' | 'proxy' | 'signal' | 'idleTimeoutMs' | 'tokenHint' | 'retries' | 'retryDelayMs'>): Promise<RepoListing> {
  checkRepoId(options.repo);
  const revision = options.revision ?? 'main';
  checkRevision(revision);
  const settings = httpSettings({ ...options, cacheDir: '' });
  const url = new URL(`${settings.endpoint}/api/models/${options.repo}/revision/${encodeURIComponent(revision)}`);
  const what = `${options.repo} at ${revision}`;
  return withRetries(options, async () => {
    const response = await hubRequest(url, { method: 'GET', redirects: 'same-origin', headers: { accept: 'application/json' } }, settings);
    if (response.status !== 200) throw statusError(response, what, settings, options.tokenHint ?? DEFAULT_TOKEN_HINT);
    const body = await readSmallBody(response, settings, MAX_LISTING_BYTES, `The file list of ${options.repo}`);
    let json: { sha?: unknown; siblings?: unknown };
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HubError('bad-response', `The Hub's file list for ${what} is not JSON`);
    }
    const siblings = Array.isArray(json.siblings) ? json.siblings : [];
    const files = siblings.map((s: { rfilename?: unknown }) => s?.rfilename).filter((f): f is string => typeof f === 'string');
    if (typeof json.sha !== 'string' || !COMMIT.test(json.sha)) throw new HubError('bad-response', `The Hub's file list for ${what} has no commit sha`);
    return { repo: options.repo, commit: json.sha, files };
  });
}

/** The files a model folder needs for one dtype, or the reason the repository cannot give one. */
export function planFiles(listing: RepoListing, dtype: Dtype): string[] {
  const files = listing.files;
  if (!files.includes('config.json')) throw new HubError('no-config', `${listing.repo} has no config.json; it is not a Transformers model repository`);
  if (!files.includes('tokenizer.json')) throw new HubError('no-tokenizer', `${listing.repo} has no tokenizer.json (the fast-tokenizer file Surprisal Lens needs); look for an onnx-community or Xenova export of it`);
  const offered = offeredDtypes(files);
  if (offered.length === 0) throw new HubError('no-graph', `${listing.repo} has no ONNX graph Surprisal Lens can load (onnx/model.onnx, onnx/model_q4.onnx, ...); look for an onnx-community export of it`);
  const graph = graphFileIn(files, dtype);
  if (!graph) throw new HubError('no-dtype', `${listing.repo} has no ${dtype} graph; it offers ${offered.join(', ')}`);
  const optional = ['generation_config.json', 'tokenizer_config.json'].filter((file) => files.includes(file));
  return ['config.json', ...optional, 'tokenizer.json', graph, ...externalDataFiles(files, graph)];
}

/** Bytes each offered dtype takes (graph and external data), from the Hub's file headers. */
export async function measureDtypes(listing: RepoListing, options: Omit<DownloadOptions, 'cacheDir' | 'dtype' | 'revision'>): Promise<Map<Dtype, number>> {
  const settings = httpSettings({ ...options, cacheDir: '' });
  const sizes = new Map<Dtype, number>();
  for (const dtype of offeredDtypes(listing.files)) {
    const graph = graphFileIn(listing.files, dtype)!;
    let total = 0;
    for (const path of [graph, ...externalDataFiles(listing.files, graph)]) {
      total += (await withRetries(options, () => fileMetadata(settings, listing.repo, listing.commit, path, options.tokenHint ?? DEFAULT_TOKEN_HINT))).size;
    }
    sizes.set(dtype, total);
  }
  return sizes;
}

/**
 * Downloads (or confirms) a model folder. A second call for a revision that resolves to the
 * commit already downloaded fetches nothing; with a commit sha as revision it needs no network.
 */
export async function downloadModel(options: DownloadOptions): Promise<DownloadResult> {
  try {
    return await download(options);
  } catch (error) {
    throw fileSystemError(error, options.cacheDir);
  }
}

/** A full disk or an unwritable folder as one line; other errors pass through. */
function fileSystemError(error: unknown, cacheDir: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof HubError || typeof code !== 'string') return error;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new HubError('disk-space', `The disk holding ${cacheDir} is full; free some space and download again to resume`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new HubError('file-system', `Cannot write to ${cacheDir} (${code})`);
  return error;
}

async function download(options: DownloadOptions): Promise<DownloadResult> {
  checkRepoId(options.repo);
  const revision = options.revision ?? 'main';
  checkRevision(revision);
  const settings = httpSettings(options);
  const signal = options.signal;
  const report = progressReporter(options.onProgress);
  report.emit({ phase: 'checking', bytes: 0, totalBytes: 0 });

  // Pinned to a commit already on disk: no request at all.
  if (options.dtype && COMMIT.test(revision)) {
    const kept = await completeDownload(options.cacheDir, options.repo, options.dtype);
    if (kept?.commit === revision) return noOp(kept, revision);
  }

  const listing = await listRepository(options);
  if (signal?.aborted) throw cancelled();
  const offered = offeredDtypes(listing.files);
  const dtype = options.dtype ?? defaultDtype(offered, options.repo);
  if (!dtype) {
    planFiles(listing, 'fp32'); // throws the precise reason (no config, tokenizer or graph)
    throw new HubError('no-graph', `${options.repo} has no ONNX graph Surprisal Lens can load`);
  }
  const wanted = planFiles(listing, dtype);

  const kept = await completeDownload(options.cacheDir, options.repo, dtype);
  if (kept?.commit === listing.commit && sameFiles(kept, wanted)) return noOp(kept, revision);

  await fs.mkdir(join(options.cacheDir, 'partial'), { recursive: true });
  const release = await acquireLock(options.cacheDir, options.repo, dtype);
  try {
    const finalPath = modelFolderPath(options.cacheDir, options.repo, dtype);
    const partialPath = partialFolderPath(options.cacheDir, options.repo, dtype);

    // Every file's size and identity first: the disk check needs the total.
    const remote: RemoteFile[] = [];
    for (const path of wanted) {
      remote.push(await withRetries(options, () => fileMetadata(settings, options.repo, listing.commit, path, options.tokenHint ?? DEFAULT_TOKEN_HINT)));
    }
    const totalBytes = remote.reduce((sum, file) => sum + file.size, 0);

    const state = await preparePartial(partialPath, options.repo, dtype, listing.commit, remote);
    const keptFiles = new Map((kept?.files ?? []).map((file) => [file.path, file]));
    let onDisk = 0;
    let needed = 0;
    const reused = new Set<string>();
    for (const file of remote) {
      const target = join(partialPath, file.path);
      const previous = keptFiles.get(file.path);
      // A file of the earlier download with the same content is linked, not fetched again.
      if (kept && previous?.etag === file.etag && previous.size === file.size && (await sizeOf(join(kept.path, file.path))) === file.size) {
        await fs.rm(target, { force: true });
        await fs.mkdir(dirname(target), { recursive: true });
        await linkOrCopy(join(kept.path, file.path), target);
        reused.add(file.path);
        onDisk += file.size;
        continue;
      }
      const have = Math.min(await sizeOf(target), file.size);
      onDisk += have;
      needed += file.size - have;
    }
    await fs.writeFile(join(partialPath, PARTIAL_STATE), JSON.stringify(state));
    await checkFreeSpace(options.cacheDir, needed, options.reserveBytes ?? 100_000_000);

    report.setTotal(totalBytes, onDisk);
    for (const file of remote) {
      if (!reused.has(file.path)) await downloadFile(settings, options, listing.commit, file, join(partialPath, file.path), report);
    }

    const manifest: DownloadManifest = {
      repo: options.repo,
      revision,
      commit: listing.commit,
      dtype,
      endpoint: settings.endpoint,
      completedAt: new Date().toISOString(),
      files: remote.map((file): ManifestFile => ({ path: file.path, size: file.size, etag: file.etag, ...(file.sha256 ? { sha256: file.sha256 } : {}) })),
    };
    await fs.rm(join(partialPath, PARTIAL_STATE), { force: true });
    await fs.writeFile(join(partialPath, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (signal?.aborted) throw cancelled();
    await swapIntoPlace(partialPath, finalPath);
    return { path: finalPath, repo: options.repo, revision, commit: listing.commit, dtype, downloaded: true, bytesReceived: report.receivedBytes() };
  } finally {
    await release();
  }
}

function noOp(kept: DownloadManifest & { path: string }, revision: string): DownloadResult {
  return { path: kept.path, repo: kept.repo, revision, commit: kept.commit, dtype: kept.dtype, downloaded: false, bytesReceived: 0 };
}

function sameFiles(manifest: DownloadManifest, wanted: readonly string[]): boolean {
  const have = new Set(manifest.files.map((file) => file.path));
  return wanted.length === have.size && wanted.every((file) => have.has(file));
}

/** The complete download of (repo, dtype) if every file it lists is on disk at its size. */
async function completeDownload(cacheDir: string, repo: string, dtype: Dtype): Promise<(DownloadManifest & { path: string }) | undefined> {
  const path = modelFolderPath(cacheDir, repo, dtype);
  const manifest = await readManifest(path);
  if (!manifest || manifest.repo !== repo || manifest.dtype !== dtype) return undefined;
  for (const file of manifest.files) {
    if ((await sizeOf(join(path, file.path))) !== file.size) return undefined;
  }
  return { ...manifest, path };
}

async function fileMetadata(settings: HttpSettings, repo: string, commit: string, path: string, tokenHint: string): Promise<RemoteFile> {
  const response = await hubRequest(resolveUrl(settings, repo, commit, path), { method: 'HEAD', redirects: 'same-origin' }, settings);
  response.body.resume();
  const what = `${repo}/${path}`;
  const isRedirect = response.status >= 300 && response.status < 400;
  if (response.status !== 200 && !isRedirect) throw statusError(response, what, settings, tokenHint);
  // Asked by commit, the Hub answers for that commit; another one means a confused mirror or proxy cache.
  const answeredCommit = headerText(response.headers['x-repo-commit']);
  if (answeredCommit !== '' && answeredCommit !== commit) throw new HubError('bad-response', `${what}: the Hub answered for commit ${answeredCommit.slice(0, 12)} instead of ${commit.slice(0, 12)}`);
  const linkedSize = headerText(response.headers['x-linked-size']);
  const linkedEtag = cleanEtag(headerText(response.headers['x-linked-etag']));
  const etag = linkedEtag || cleanEtag(headerText(response.headers.etag));
  const sizeText = linkedSize || headerText(response.headers['content-length']);
  const size = Number(sizeText);
  if (sizeText === '' || !Number.isSafeInteger(size) || size < 0) throw new HubError('bad-response', `The Hub gave no usable size for ${what}`);
  if (path.endsWith('.json') && size > MAX_JSON_BYTES) throw new HubError('bad-response', `${what} is announced at ${size} bytes, too large for a JSON file`);
  if (isRedirect && !linkedEtag) throw new HubError('bad-response', `The Hub sent no X-Linked-Etag (sha256) for ${what}`);
  const sha256 = linkedEtag && /^[0-9a-f]{64}$/.test(linkedEtag) ? linkedEtag : undefined;
  if (isRedirect && !sha256) throw new HubError('bad-response', `The Hub's X-Linked-Etag for ${what} is not a sha256`);
  return { path, size, sha256, etag: etag || `size:${size}` };
}

/** `W/"abc"` -> `abc` (MODEL-SOURCES.md: strip quotes and a weak prefix). */
function cleanEtag(value: string): string {
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Keeps partial bytes only where the partial folder was for the same content. */
async function preparePartial(partialPath: string, repo: string, dtype: Dtype, commit: string, remote: readonly RemoteFile[]): Promise<PartialState> {
  let previous: PartialState | undefined;
  try {
    previous = JSON.parse(await fs.readFile(join(partialPath, PARTIAL_STATE), 'utf8')) as PartialState;
  } catch {
    previous = undefined;
  }
  if (!previous || previous.repo !== repo || typeof previous.etags !== 'object') {
    await fs.rm(partialPath, { recursive: true, force: true });
  } else {
    for (const file of remote) {
      if (previous.etags[file.path] !== file.etag) await fs.rm(join(partialPath, file.path), { force: true });
    }
    await fs.rm(join(partialPath, MANIFEST_FILE), { force: true });
  }
  await fs.mkdir(partialPath, { recursive: true });
  return { repo, dtype, commit, etags: Object.fromEntries(remote.map((file) => [file.path, file.etag])) };
}

async function checkFreeSpace(cacheDir: string, needed: number, reserve: number): Promise<void> {
  const stats = await fs.statfs(cacheDir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  if (needed + reserve > free) {
    throw new HubError('disk-space', `Not enough disk space in ${cacheDir}: the download needs ${formatBytes(needed)} (plus ${formatBytes(reserve)} kept free), ${formatBytes(free)} are free`);
  }
}

/** Fetches one file into `target`, resuming from the bytes already there, and checks its sha256. */
async function downloadFile(settings: HttpSettings, options: DownloadOptions, commit: string, file: RemoteFile, target: string, report: ProgressReporter): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  let restarted = false;
  for (;;) {
    const pieces = { resumed: false };
    await withRetries(options, () => fetchRemainder(settings, options, commit, file, target, report, pieces));
    if (!file.sha256) return checkJson(target, `${options.repo}/${file.path}`);
    report.emit({ phase: 'verifying', file: file.path });
    const actual = await sha256Of(target, settings.signal);
    if (actual === file.sha256) return;
    await fs.rm(target, { force: true });
    report.addDone(-file.size);
    // A file put together from several requests may be wrong only where they join (bytes
    // kept from an earlier try, a server's bad Range): fetch it once more in one piece.
    if (!pieces.resumed || restarted) {
      throw new HubError('checksum', `${options.repo}/${file.path} does not match the Hub's sha256 (got ${actual.slice(0, 12)}..., expected ${file.sha256.slice(0, 12)}...); the bad file was deleted, try again`);
    }
    restarted = true;
  }
}

/** One request for the bytes `target` still lacks. */
async function fetchRemainder(
  settings: HttpSettings,
  options: DownloadOptions,
  commit: string,
  file: RemoteFile,
  target: string,
  report: ProgressReporter,
  pieces: { resumed: boolean },
): Promise<void> {
  let start = await sizeOf(target);
  if (start > file.size) {
    await fs.rm(target, { force: true });
    report.addDone(-start);
    start = 0;
  }
  if (start === file.size) return;
  const what = `${options.repo}/${file.path}`;
  const headers: Record<string, string> = start > 0 ? { range: `bytes=${start}-` } : {};
  if (start > 0) pieces.resumed = true;
  const response = await hubRequest(resolveUrl(settings, options.repo, commit, file.path), { method: 'GET', redirects: 'all', headers }, settings);
  if (response.status !== 200 && response.status !== 206) {
    if (response.status === 416) {
      // The server has no bytes past ours: what is on disk is not this file; start over.
      response.body.resume();
      await fs.rm(target, { force: true });
      report.addDone(-start);
      throw new HubError('bad-response', `${what}: the server refused to resume; starting over`, true);
    }
    throw statusError(response, what, settings, options.tokenHint ?? DEFAULT_TOKEN_HINT);
  }
  let offset = start;
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerText(response.headers['content-range']).trim());
    if (!range || Number(range[1]) !== start || (range[3] !== '*' && Number(range[3]) !== file.size)) {
      response.body.resume();
      throw new HubError('bad-response', `${what}: the server answered a different byte range than asked`);
    }
  } else if (start > 0) {
    // A 200 to a Range request is the whole file: the kept bytes are rewritten.
    report.addDone(-start);
    offset = 0;
  }
  const declared = headerText(response.headers['content-length']);
  if (declared !== '' && Number(declared) !== file.size - offset) {
    response.body.destroy();
    throw new HubError('size-mismatch', `${what}: the server announced ${declared} bytes where ${file.size - offset} were expected`);
  }
  const handle = await fs.open(target, offset === 0 ? 'w' : 'a');
  let written = 0;
  try {
    await readBody(response, settings, async (chunk) => {
      if (offset + written + chunk.length > file.size) {
        const error = new HubError('size-mismatch', `${what}: the server sent more than the ${file.size} bytes the Hub announced`);
        response.body.destroy(error);
        throw error;
      }
      await handle.write(chunk);
      written += chunk.length;
      report.received(chunk.length, file.path);
    });
  } catch (error) {
    if (error instanceof HubError && error.code === 'size-mismatch') {
      await handle.close();
      await fs.rm(target, { force: true });
      report.addDone(-(offset + written));
      throw error;
    }
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (offset + written < file.size) throw new HubError('network', `${what}: the connection closed after ${offset + written} of ${file.size} bytes`, true);
}

/** Small files have no sha256 to check; a JSON file must at least parse, or it is not kept. */
async function checkJson(path: string, what: string): Promise<void> {
  if (!path.endsWith('.json')) return;
  try {
    JSON.parse(await fs.readFile(path, 'utf8'));
  } catch {
    await fs.rm(path, { force: true });
    throw new HubError('bad-response', `${what} is not valid JSON as downloaded; try again`);
  }
}

async function withRetries<T>(options: Pick<DownloadOptions, 'retries' | 'retryDelayMs' | 'signal'>, attempt: () => Promise<T>): Promise<T> {
  const retries = options.retries ?? 4;
  const delay = options.retryDelayMs ?? 1000;
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof HubError && error.retryable;
      if (!retryable || tries >= retries || options.signal?.aborted) throw options.signal?.aborted ? cancelled() : error;
      await sleep(delay * (tries + 1), options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function sha256Of(path: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, signal ? { signal } : {})) hash.update(chunk as Buffer);
  if (signal?.aborted) throw cancelled();
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return 0;
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch {
    await fs.copyFile(from, to);
  }
}

/** Moves the finished folder into place; an older download of the same model goes only after. */
async function swapIntoPlace(partialPath: string, finalPath: string): Promise<void> {
  await fs.mkdir(dirname(finalPath), { recursive: true });
  const old = `${partialPath}.old-${randomBytes(4).toString('hex')}`;
  const hadOld = existsSync(finalPath);
  if (hadOld) await fs.rename(finalPath, old);
  try {
    await fs.rename(partialPath, finalPath);
  } catch (error) {
    if (hadOld) await fs.rename(old, finalPath).catch(() => undefined);
    throw error;
  }
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

interface ProgressReporter {
  emit(progress: { phase: DownloadProgress['phase']; file?: string; bytes?: number; totalBytes?: number }): void;
  setTotal(total: number, onDisk: number): void;
  received(bytes: number, file: string): void;
  addDone(bytes: number): void;
  receivedBytes(): number;
}

/** Progress at most every 100 ms (and at the end), with the speed over about five seconds. */
function progressReporter(onProgress: DownloadOptions['onProgress']): ProgressReporter {
  let done = 0;
  let total = 0;
  let receivedTotal = 0;
  let lastEmit = 0;
  const samples: Array<{ at: number; bytes: number }> = [];
  const speed = (now: number) => {
    while (samples.length > 2 && now - samples[0].at > 5000) samples.shift();
    const first = samples[0];
    const seconds = first ? (now - first.at) / 1000 : 0;
    return seconds > 0 ? (receivedTotal - first.bytes) / seconds : 0;
  };
  const emit: ProgressReporter['emit'] = (progress) => {
    const now = Date.now();
    lastEmit = now;
    onProgress?.({ phase: progress.phase, file: progress.file, bytes: progress.bytes ?? done, totalBytes: progress.totalBytes ?? total, bytesPerSecond: speed(now) });
  };
  return {
    emit,
    setTotal(newTotal, onDisk) {
      total = newTotal;
      done = onDisk;
      samples.push({ at: Date.now(), bytes: receivedTotal });
      emit({ phase: 'downloading' });
    },
    received(bytes, file) {
      done += bytes;
      receivedTotal += bytes;
      const now = Date.now();
      if (now - lastEmit < 100 && done < total) return;
      samples.push({ at: now, bytes: receivedTotal });
      emit({ phase: 'downloading', file });
    },
    addDone(bytes) {
      done = Math.max(0, done + bytes);
    },
    receivedBytes: () => receivedTotal,
  };
}

