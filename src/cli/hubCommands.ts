/**
 * `surprisal-lens download | models | remove`: models from the Hugging Face Hub, kept in the
 * user's cache folder. The token comes from HF_TOKEN and the endpoint from --endpoint or
 * HF_ENDPOINT (huggingface_hub's variables); progress goes to stderr, the folder to stdout.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DTYPES, isDtype, type Dtype } from '../core/hub/catalogue';
import { checkRepoId, downloadModel, formatBytes, type DownloadProgress } from '../core/hub/download';
import { HubError, proxyFromEnv } from '../core/hub/http';
import { defaultCacheDir, discardUnfinishedDownload, findDownloadedModel, listDownloadedModels, listUnfinishedDownloads, removeDownloadedModel } from '../core/hub/store';

export const HUB_USAGE = [
  `surprisal-lens download <owner/name> [--revision R] [--dtype ${DTYPES.join('|')}] [--endpoint URL] [--cache-dir DIR]`,
  'surprisal-lens models [--json] [--cache-dir DIR]',
  `surprisal-lens remove <owner/name> [--dtype ${DTYPES.join('|')}] [--cache-dir DIR]`,
].join('\n');

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export function isHubCommand(command: string | undefined): boolean {
  return command === 'download' || command === 'models' || command === 'remove';
}

export async function runHubCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      revision: { type: 'string' },
      dtype: { type: 'string' },
      endpoint: { type: 'string' },
      'cache-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [command, repo, ...rest] = positionals;
  const cacheDir = values['cache-dir'] ? resolve(values['cache-dir']) : defaultCacheDir(io.env);
  if (rest.length > 0 || (command !== 'models' && !repo) || (command === 'models' && repo)) throw new HubError('invalid-input', `usage:\n${HUB_USAGE}`);
  const dtype = parseDtype(values.dtype);

  if (command === 'models') {
    const models = await listDownloadedModels(cacheDir);
    const unfinished = await listUnfinishedDownloads(cacheDir);
    if (values.json) {
      io.stdout.write(`${JSON.stringify(models.map(({ repo: r, dtype: d, revision, commit, completedAt, sizeBytes, path }) => ({ repo: r, dtype: d, revision, commit, completedAt, sizeBytes, path })))}\n`);
    } else if (models.length === 0) {
      io.stdout.write(`No downloaded models in ${cacheDir}\n`);
    } else {
      for (const m of models) io.stdout.write(`${m.repo}  ${m.dtype}  ${formatBytes(m.sizeBytes)}  ${m.commit.slice(0, 7)}  ${m.completedAt.slice(0, 10)}  ${m.path}\n`);
    }
    for (const u of unfinished) {
      if (!values.json) io.stderr.write(`unfinished: ${u.repo}  ${u.dtype}  ${formatBytes(u.bytes)} so far${u.inProgress ? ' (downloading now)' : ' (download again to resume, or remove)'}\n`);
    }
    return 0;
  }

  checkRepoId(repo);
  if (command === 'remove') {
    const matches = (m: { repo: string; dtype: Dtype }) => m.repo.toLowerCase() === repo.toLowerCase() && (!dtype || m.dtype === dtype);
    const models = (await listDownloadedModels(cacheDir)).filter(matches);
    const unfinished = (await listUnfinishedDownloads(cacheDir)).filter(matches);
    if (models.length === 0 && unfinished.length === 0) throw new HubError('not-found', `${repo}${dtype ? ` (${dtype})` : ''} is not downloaded in ${cacheDir}`);
    for (const m of models) {
      const freed = await removeDownloadedModel(cacheDir, m.path);
      io.stderr.write(`Removed ${m.repo} (${m.dtype}), ${formatBytes(freed)} freed\n`);
    }
    for (const u of unfinished.filter((u) => !models.some((m) => m.dtype === u.dtype))) {
      await discardUnfinishedDownload(cacheDir, u.repo, u.dtype);
      io.stderr.write(`Removed the unfinished download of ${u.repo} (${u.dtype}), ${formatBytes(u.bytes)} freed\n`);
    }
    return 0;
  }

  const endpoint = values.endpoint ?? io.env.HF_ENDPOINT;
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  const progress = progressLine(io.stderr);
  try {
    const result = await downloadModel({
      repo,
      revision: values.revision,
      dtype,
      cacheDir,
      endpoint,
      token: io.env.HF_TOKEN || io.env.HUGGING_FACE_HUB_TOKEN || undefined,
      proxy: proxyFromEnv(endpoint, io.env),
      signal: controller.signal,
      onProgress: progress.update,
      tokenHint: 'set HF_TOKEN to a token with read access (https://huggingface.co/settings/tokens)',
    });
    progress.end();
    io.stderr.write(result.downloaded
      ? `Downloaded ${result.repo} (${result.dtype}, commit ${result.commit.slice(0, 7)}), ${formatBytes(result.bytesReceived)} received\n`
      : `${result.repo} (${result.dtype}) is up to date (commit ${result.commit.slice(0, 7)})\n`);
    io.stdout.write(`${result.path}\n`);
    return 0;
  } catch (error) {
    progress.end();
    if (error instanceof HubError && error.code === 'cancelled') {
      io.stderr.write('surprisal-lens: download cancelled; run the same command again to resume\n');
      return 130;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

/**
 * `--model` of `score`: a folder, or the id of a downloaded repository (`owner/name`).
 * Undefined when the argument is neither, so the caller reports the folder as missing.
 */
export async function downloadedModelFolder(argument: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (existsSync(argument) || !/^[\w.-]+\/[\w.-]+$/.test(argument)) return undefined;
  return (await findDownloadedModel(defaultCacheDir(env), argument))?.path;
}

function parseDtype(value: string | undefined): Dtype | undefined {
  if (value === undefined) return undefined;
  if (!isDtype(value)) throw new HubError('invalid-input', `--dtype must be one of ${DTYPES.join(', ')}, got ${value}`);
  return value;
}

/** One updating line on a terminal; a line per file otherwise (logs stay short). */
function progressLine(stream: CliIo['stderr']) {
  let lastFile: string | undefined;
  let open = false;
  const describe = (p: DownloadProgress) => {
    const percent = p.totalBytes > 0 ? ` (${Math.floor((100 * p.bytes) / p.totalBytes)}%)` : '';
    const speed = p.bytesPerSecond > 0 ? `, ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
    return `${p.phase} ${p.file ?? ''}  ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}${percent}${speed}`;
  };
  return {
    update: (p: DownloadProgress) => {
      if (p.phase === 'checking') return;
      if (stream.isTTY) {
        stream.write(`\r\x1b[K${describe(p)}`);
        open = true;
      } else if (p.file !== undefined && p.file !== lastFile) {
        stream.write(`${describe(p)}\n`);
      }
      lastFile = p.file ?? lastFile;
    },
    end: () => {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
