/**
 * Where downloaded models live, and listing and removing them.
 *
 *   {cacheDir}/models/{owner}--{name}--{dtype}/   a complete model folder + MANIFEST_FILE
 *   {cacheDir}/partial/{owner}--{name}--{dtype}/  an unfinished download (never loaded)
 *   {cacheDir}/partial/{owner}--{name}--{dtype}.lock  held while a download runs
 */
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { isDtype, type Dtype } from './catalogue';
import { HubError } from './http';

/** Written last into a download's folder: its presence means every file is complete. */
export const MANIFEST_FILE = 'surprisal-lens-download.json';
/** In an unfinished download's folder: what it is for, so a resume keeps only matching bytes. */
export const PARTIAL_STATE = 'partial.json';

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly etag: string;
  readonly sha256?: string;
}

export interface DownloadManifest {
  readonly repo: string;
  /** The revision asked for (branch, tag or commit). */
  readonly revision: string;
  /** The commit it resolved to (X-Repo-Commit / the listing's sha). */
  readonly commit: string;
  readonly dtype: Dtype;
  readonly endpoint: string;
  /** ISO date. */
  readonly completedAt: string;
  readonly files: readonly ManifestFile[];
}

export interface DownloadedModel extends DownloadManifest {
  /** The model folder. */
  readonly path: string;
  /** Bytes the folder's files take. */
  readonly sizeBytes: number;
}

/** The CLI's default: `$XDG_CACHE_HOME/surprisal-lens` or `~/.cache/surprisal-lens`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SURPRISAL_LENS_CACHE) return resolve(env.SURPRISAL_LENS_CACHE);
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'surprisal-lens');
}

function folderKey(repo: string, dtype: Dtype): string {
  return `${repo.replace('/', '--')}--${dtype}`;
}

export function modelFolderPath(cacheDir: string, repo: string, dtype: Dtype): string {
  return join(cacheDir, 'models', folderKey(repo, dtype));
}

export function partialFolderPath(cacheDir: string, repo: string, dtype: Dtype): string {
  return join(cacheDir, 'partial', folderKey(repo, dtype));
}

export async function readManifest(folder: string): Promise<DownloadManifest | undefined> {
  let value: Partial<DownloadManifest>;
  try {
    value = JSON.parse(await fs.readFile(join(folder, MANIFEST_FILE), 'utf8')) as Partial<DownloadManifest>;
  } catch {
    return undefined;
  }
  const valid = typeof value.repo === 'string' && typeof value.commit === 'string' && typeof value.dtype === 'string' && isDtype(value.dtype)
    && Array.isArray(value.files) && value.files.every((f) => typeof f?.path === 'string' && Number.isSafeInteger(f.size));
  return valid ? (value as DownloadManifest) : undefined;
}

/** Every complete download under `cacheDir`, sorted by repository and dtype. */
export async function listDownloadedModels(cacheDir: string): Promise<DownloadedModel[]> {
  const root = join(cacheDir, 'models');
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const models: DownloadedModel[] = [];
  for (const name of names) {
    const path = join(root, name);
    const manifest = await readManifest(path);
    if (!manifest) continue;
    let sizeBytes = 0;
    for (const file of manifest.files) sizeBytes += await fs.stat(join(path, file.path)).then((s) => s.size, () => 0);
    models.push({ ...manifest, path, sizeBytes });
  }
  return models.sort((a, b) => a.repo.localeCompare(b.repo) || a.dtype.localeCompare(b.dtype));
}

/** A downloaded model by repository id (case-insensitive), and dtype when several were downloaded. */
export async function findDownloadedModel(cacheDir: string, repo: string, dtype?: Dtype): Promise<DownloadedModel | undefined> {
  const matches = (await listDownloadedModels(cacheDir)).filter((m) => m.repo.toLowerCase() === repo.toLowerCase() && (!dtype || m.dtype === dtype));
  return matches[0];
}

/**
 * Deletes a downloaded model folder (and any unfinished download of the same model); refuses
 * a folder outside `cacheDir`/models or one without a manifest. Returns the bytes freed.
 */
export async function removeDownloadedModel(cacheDir: string, folder: string): Promise<number> {
  const root = resolve(cacheDir, 'models');
  const target = resolve(folder);
  const inside = relative(root, target);
  if (inside === '' || inside.startsWith('..') || inside.includes(sep)) throw new HubError('invalid-input', `${folder} is not a downloaded model folder`);
  const manifest = await readManifest(target);
  if (!manifest) throw new HubError('invalid-input', `${folder} is not a downloaded model folder (no ${MANIFEST_FILE})`);
  const freed = (await listDownloadedModels(cacheDir)).find((m) => resolve(m.path) === target)?.sizeBytes ?? 0;
  await fs.rm(target, { recursive: true, force: true });
  await fs.rm(partialFolderPath(cacheDir, manifest.repo, manifest.dtype), { recursive: true, force: true });
  return freed;
}

export interface UnfinishedDownload {
  readonly repo: string;
  readonly dtype: Dtype;
  /** The partial folder. */
  readonly path: string;
  /** Bytes downloaded so far. */
  readonly bytes: number;
  /** A live process is downloading it now. */
  readonly inProgress: boolean;
}

/** Downloads that were cancelled or interrupted (or are running): they resume from these bytes. */
export async function listUnfinishedDownloads(cacheDir: string): Promise<UnfinishedDownload[]> {
  const root = join(cacheDir, 'partial');
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const unfinished: UnfinishedDownload[] = [];
  for (const name of names) {
    const path = join(root, name);
    const state = await fs.readFile(join(path, PARTIAL_STATE), 'utf8').then((text) => JSON.parse(text) as { repo?: unknown; dtype?: unknown }, () => undefined);
    if (typeof state?.repo !== 'string' || typeof state.dtype !== 'string' || !isDtype(state.dtype)) continue;
    unfinished.push({ repo: state.repo, dtype: state.dtype, path, bytes: await folderBytes(path), inProgress: lockHolder(`${path}.lock`) !== undefined });
  }
  return unfinished.sort((a, b) => a.repo.localeCompare(b.repo) || a.dtype.localeCompare(b.dtype));
}

/** Deletes an unfinished download's bytes; refuses one a live process is still downloading. */
export async function discardUnfinishedDownload(cacheDir: string, repo: string, dtype: Dtype): Promise<void> {
  const release = await acquireLock(cacheDir, repo, dtype);
  try {
    await fs.rm(partialFolderPath(cacheDir, repo, dtype), { recursive: true, force: true });
  } finally {
    await release();
  }
}

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += await fs.stat(join(entry.parentPath ?? entry.path, entry.name)).then((s) => s.size, () => 0);
  }
  return total;
}

/** The pid holding a download lock, if that process is alive. */
function lockHolder(lock: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(lock, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the download lock of (repo, dtype); a second download of the same model, in this
 * process or another, fails with 'busy' instead of writing the same files at once. A lock
 * left by a process that died is taken over.
 */
export async function acquireLock(cacheDir: string, repo: string, dtype: Dtype): Promise<() => Promise<void>> {
  const lock = `${partialFolderPath(cacheDir, repo, dtype)}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fs.open(lock, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      await handle.close();
      return () => fs.rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(lock);
      if (holder !== undefined) {
        throw new HubError('busy', `${repo} (${dtype}) is already being downloaded${holder === process.pid ? '' : ` by process ${holder}`}`);
      }
      await fs.rm(lock, { force: true });
    }
  }
  throw new HubError('busy', `${repo} (${dtype}) is already being downloaded`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `folder` is inside `cacheDir`'s downloaded models (so it may be removed). */
export function isDownloadedModelFolder(cacheDir: string, folder: string): boolean {
  const inside = relative(resolve(cacheDir, 'models'), resolve(folder));
  return inside !== '' && !inside.startsWith('..') && !inside.includes(sep) && existsSync(join(folder, MANIFEST_FILE));
}
