/**
 * "Download Model...", "Manage Downloaded Models..." and the Hugging Face token commands.
 * Downloads go into the extension's global storage; the token lives in SecretStorage and is
 * handed only to the core downloader, which sends it to the Hub endpoint alone. A finished
 * download becomes the model in use through `surprisalLens.modelPath` (reloaded in place).
 */
import { join } from 'node:path';
import * as vscode from 'vscode';
import { CATALOGUE, catalogueEntry, defaultDtype, isDtype, offeredDtypes, type CatalogueEntry, type Dtype } from '../core/hub/catalogue';
import { checkRepoId, downloadModel, formatBytes, listRepository, measureDtypes, type DownloadProgress, type RepoListing } from '../core/hub/download';
import { DEFAULT_ENDPOINT, HubError, proxyFromEnv, type ProxySettings } from '../core/hub/http';
import { discardUnfinishedDownload, listDownloadedModels, listUnfinishedDownloads, removeDownloadedModel, type DownloadedModel, type UnfinishedDownload } from '../core/hub/store';

const SECTION = 'surprisalLens';
const TOKEN_SECRET = 'surprisalLens.hubToken';
const SET_TOKEN = 'Set Hugging Face Token';
const TOKEN_HINT = 'run "Surprisal Lens: Set Hugging Face Token" with a token that has read access';

export const DOWNLOAD_COMMAND = 'surprisalLens.downloadModel';
export const MANAGE_COMMAND = 'surprisalLens.manageDownloadedModels';
export const SET_TOKEN_COMMAND = 'surprisalLens.setHubToken';
export const CLEAR_TOKEN_COMMAND = 'surprisalLens.clearHubToken';

/** Arguments `surprisalLens.downloadModel` accepts from other code (tests, links); each optional. */
export interface DownloadModelArgs {
  readonly repo?: string;
  readonly revision?: string;
  readonly dtype?: Dtype;
}

export interface DownloadCommandHooks {
  /**
   * Reloads the model from its folder. Called when a download replaced the files of the
   * folder already in use (a new commit): `modelPath` does not change then, so no settings
   * event reloads it. Without the hook the user is told to reload.
   */
  readonly reloadModel?: () => void;
}

export function registerDownloadCommands(context: vscode.ExtensionContext, hooks: DownloadCommandHooks = {}): void {
  const commands = new DownloadCommands(context, hooks);
  context.subscriptions.push(
    vscode.commands.registerCommand(DOWNLOAD_COMMAND, (args?: DownloadModelArgs) => commands.download(args)),
    vscode.commands.registerCommand(MANAGE_COMMAND, () => commands.manage()),
    vscode.commands.registerCommand(SET_TOKEN_COMMAND, () => commands.setToken()),
    vscode.commands.registerCommand(CLEAR_TOKEN_COMMAND, () => commands.clearToken()),
  );
}

class DownloadCommands {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly hooks: DownloadCommandHooks,
  ) {}

  private get cacheDir(): string {
    return join(this.context.globalStorageUri.fsPath, 'hub');
  }

  /** Machine-scoped, read from the user's settings only: a workspace cannot redirect the token. */
  private get endpoint(): string {
    const value = vscode.workspace.getConfiguration(SECTION).inspect<string>('hub.endpoint')?.globalValue;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : DEFAULT_ENDPOINT;
  }

  /** VS Code's `http.proxy` / `http.proxyStrictSSL`, else the usual environment variables. */
  private get proxy(): ProxySettings | undefined {
    const http = vscode.workspace.getConfiguration('http');
    const url = (http.get<string>('proxy') ?? '').trim();
    const strictSSL = http.get<boolean>('proxyStrictSSL', true);
    if (url !== '') return { url, strictSSL };
    const fromEnv = proxyFromEnv(this.endpoint, process.env);
    return fromEnv ? { ...fromEnv, strictSSL } : strictSSL ? undefined : { url: '', strictSSL };
  }

  private async token(): Promise<string | undefined> {
    return (await this.context.secrets.get(TOKEN_SECRET)) || undefined;
  }

  async download(args?: DownloadModelArgs): Promise<string | undefined> {
    try {
      const target = typeof args?.repo === 'string' ? { repo: args.repo, revision: typeof args.revision === 'string' ? args.revision : undefined } : await this.pickRepository();
      if (!target) return undefined;
      checkRepoId(target.repo);
      const entry = catalogueEntry(target.repo);
      if (entry?.gated && !(await this.token())) {
        const choice = await vscode.window.showWarningMessage(
          `${entry.label} is gated: accept its licence on the Hugging Face page of ${entry.repo}, then set a token with read access.`,
          SET_TOKEN,
          'Open Repository Page',
          'Try Anyway',
        );
        if (choice === 'Open Repository Page') void vscode.env.openExternal(vscode.Uri.parse(`${this.endpoint}/${entry.repo}`));
        if (choice === SET_TOKEN && !(await this.setToken())) return undefined;
        if (choice !== SET_TOKEN && choice !== 'Try Anyway') return undefined;
      }
      const token = await this.token();
      const common = { endpoint: this.endpoint, token, proxy: this.proxy, tokenHint: TOKEN_HINT };

      const requestedDtype = typeof args?.dtype === 'string' && isDtype(args.dtype) ? args.dtype : undefined;
      const checked = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Surprisal Lens: reading the files of ${target.repo}`, cancellable: true },
        async (_progress, cancel) => {
          const controller = abortOn(cancel);
          const listing = await listRepository({ ...common, repo: target.repo, revision: target.revision, signal: controller.signal });
          // Real sizes only when the user is to choose a dtype.
          const sizes = requestedDtype ? new Map<Dtype, number>() : await measureDtypes(listing, { ...common, repo: target.repo, signal: controller.signal });
          return { listing, sizes };
        },
      );
      const dtype = requestedDtype ?? (await this.pickDtype(checked.listing, checked.sizes));
      if (!dtype) return undefined;

      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Surprisal Lens: downloading ${target.repo} (${dtype})`, cancellable: true },
        (progress, cancel) => {
          let reportedPercent = 0;
          return downloadModel({
            ...common,
            repo: target.repo,
            // The commit just listed, so the files match the sizes shown.
            revision: checked.listing.commit,
            dtype,
            cacheDir: this.cacheDir,
            signal: abortOn(cancel).signal,
            onProgress: (p) => {
              const percent = p.totalBytes > 0 ? (100 * p.bytes) / p.totalBytes : 0;
              progress.report({ increment: Math.max(0, percent - reportedPercent), message: progressText(p) });
              reportedPercent = Math.max(reportedPercent, percent);
            },
          });
        },
      );
      const replacedInUse = result.downloaded && currentModelPath() === result.path;
      await useModelFolder(result.path);
      if (replacedInUse && this.hooks.reloadModel) this.hooks.reloadModel();
      else if (replacedInUse) void vscode.window.showWarningMessage('Surprisal Lens: the model in use was updated on disk; reload the window to load the new files.');
      void vscode.window.showInformationMessage(
        `Surprisal Lens: ${result.downloaded ? `downloaded ${result.repo} (${result.dtype}, ${formatBytes(result.bytesReceived)})` : `${result.repo} (${result.dtype}) was already downloaded`}; it is now the model in use.`,
      );
      return result.path;
    } catch (error) {
      await this.showError(error);
      return undefined;
    }
  }

  private async pickRepository(): Promise<{ repo: string; revision?: string } | undefined> {
    const downloaded = new Set((await listDownloadedModels(this.cacheDir)).map((m) => m.repo.toLowerCase()));
    type Item = vscode.QuickPickItem & { entry?: CatalogueEntry };
    const items: Item[] = CATALOGUE.map((entry) => ({
      label: entry.label,
      description: `${entry.repo}${downloaded.has(entry.repo.toLowerCase()) ? ' (downloaded)' : ''}`,
      detail: `${entry.goodFor} · ${formatParameters(entry.parametersM)} parameters · ${entry.licence}${entry.gated ? ' · gated: needs a Hugging Face token' : ''} · ${catalogueSizes(entry)}`,
      entry,
    }));
    items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(repo) Other repository...', detail: 'Any Hugging Face repository with an ONNX export (owner/name, optionally @revision)' });
    const picked = await vscode.window.showQuickPick(items, { title: 'Download a model from the Hugging Face Hub', placeHolder: 'Choose a model', matchOnDescription: true, matchOnDetail: true });
    if (!picked) return undefined;
    if (picked.entry) return { repo: picked.entry.repo };
    const typed = await vscode.window.showInputBox({
      title: 'Hugging Face repository',
      prompt: 'owner/name, optionally @revision (a branch, tag or commit)',
      placeHolder: 'onnx-community/Qwen2.5-0.5B-Instruct',
      validateInput: (value) => {
        const [repo] = value.trim().split('@');
        try {
          checkRepoId(repo);
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      },
    });
    if (!typed) return undefined;
    const [repo, revision] = typed.trim().split('@');
    return { repo, revision: revision || undefined };
  }

  private async pickDtype(listing: RepoListing, sizes: Map<Dtype, number>): Promise<Dtype | undefined> {
    const offered = offeredDtypes(listing.files);
    if (offered.length <= 1) return offered[0];
    const recommended = defaultDtype(offered, listing.repo);
    const items = offered.map((dtype) => ({
      label: dtype,
      description: `${formatBytes(sizes.get(dtype) ?? 0)}${dtype === recommended ? ' (recommended)' : ''}`,
      detail: DTYPE_NOTES[dtype],
      dtype,
    }));
    items.sort((a, b) => (a.dtype === recommended ? -1 : b.dtype === recommended ? 1 : 0));
    return (await vscode.window.showQuickPick(items, { title: `${listing.repo}: which weights?`, placeHolder: 'Smaller files load faster; fp32 is the most faithful' }))?.dtype;
  }

  async manage(): Promise<void> {
    const models = await listDownloadedModels(this.cacheDir);
    const unfinished = (await listUnfinishedDownloads(this.cacheDir)).filter((u) => !u.inProgress);
    const inUse = currentModelPath();
    type Item = vscode.QuickPickItem & { model?: DownloadedModel; unfinished?: UnfinishedDownload; command?: string };
    const items: Item[] = models.map((model) => ({
      label: `${model.path === inUse ? '$(check) ' : ''}${model.repo}`,
      description: `${model.dtype} · ${formatBytes(model.sizeBytes)} · ${model.completedAt.slice(0, 10)}${model.path === inUse ? ' · in use' : ''}`,
      detail: `commit ${model.commit.slice(0, 7)} · ${model.path}`,
      model,
    }));
    for (const u of unfinished) items.push({ label: `$(debug-pause) ${u.repo}`, description: `${u.dtype} · unfinished, ${formatBytes(u.bytes)} so far`, unfinished: u });
    items.push(
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(cloud-download) Download Model...', command: DOWNLOAD_COMMAND },
      { label: `${inUse === '' ? '$(check) ' : ''}$(package) Use the Bundled Model`, command: 'surprisalLens.useBundledModel' },
      { label: '$(folder-opened) Choose Model Folder...', command: 'surprisalLens.chooseModelFolder' },
    );
    const picked = await vscode.window.showQuickPick(items, { title: 'Downloaded models', placeHolder: models.length === 0 ? 'No model downloaded yet' : 'Choose a model to use or delete' });
    if (picked?.command) return void (await vscode.commands.executeCommand(picked.command));
    if (picked?.unfinished) return this.manageUnfinished(picked.unfinished);
    if (!picked?.model) return;
    const model = picked.model;
    const action = await vscode.window.showQuickPick(
      [{ label: '$(check) Use this model', action: 'use' as const }, { label: '$(trash) Delete...', action: 'delete' as const }],
      { title: `${model.repo} (${model.dtype})` },
    );
    if (action?.action === 'use') await useModelFolder(model.path);
    if (action?.action === 'delete') await this.remove(model);
  }

  private async manageUnfinished(download: UnfinishedDownload): Promise<void> {
    const action = await vscode.window.showQuickPick(
      [{ label: '$(debug-continue) Resume', action: 'resume' as const }, { label: `$(trash) Discard (${formatBytes(download.bytes)})`, action: 'discard' as const }],
      { title: `${download.repo} (${download.dtype}), unfinished` },
    );
    if (action?.action === 'resume') await this.download({ repo: download.repo, dtype: download.dtype });
    if (action?.action === 'discard') {
      try {
        await discardUnfinishedDownload(this.cacheDir, download.repo, download.dtype);
      } catch (error) {
        await this.showError(error);
      }
    }
  }

  private async remove(model: DownloadedModel): Promise<void> {
    const inUse = currentModelPath() === model.path;
    const confirm = await vscode.window.showWarningMessage(
      `Delete ${model.repo} (${model.dtype}), ${formatBytes(model.sizeBytes)}?${inUse ? ' It is the model in use: the bundled model takes its place.' : ''}`,
      { modal: true },
      'Delete',
    );
    if (confirm !== 'Delete') return;
    try {
      // Switch first, so the worker lets go of the files before they go.
      if (inUse) await useModelFolder('');
      const freed = await removeDownloadedModel(this.cacheDir, model.path);
      void vscode.window.showInformationMessage(`Surprisal Lens: deleted ${model.repo} (${model.dtype}), ${formatBytes(freed)} freed.`);
    } catch (error) {
      await this.showError(error);
    }
  }

  async setToken(): Promise<boolean> {
    const value = await vscode.window.showInputBox({
      title: 'Hugging Face token',
      prompt: 'A token with read access (huggingface.co/settings/tokens). Kept in VS Code\'s secret storage, sent only to the Hub endpoint.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (text) => (/^\S{8,}$/.test(text.trim()) ? undefined : 'A token is one word of at least 8 characters'),
    });
    if (!value) return false;
    await this.context.secrets.store(TOKEN_SECRET, value.trim());
    void vscode.window.showInformationMessage('Surprisal Lens: Hugging Face token saved.');
    return true;
  }

  async clearToken(): Promise<void> {
    await this.context.secrets.delete(TOKEN_SECRET);
    void vscode.window.showInformationMessage('Surprisal Lens: Hugging Face token removed.');
  }

  private async showError(error: unknown): Promise<void> {
    if (error instanceof HubError && error.code === 'cancelled') {
      void vscode.window.showInformationMessage('Surprisal Lens: download cancelled. Run "Download Model..." again to resume where it stopped.');
      return;
    }
    const message = `Surprisal Lens: ${error instanceof Error ? error.message : String(error)}`;
    if (error instanceof HubError && (error.code === 'unauthorized' || error.code === 'forbidden')) {
      const choice = await vscode.window.showErrorMessage(message, SET_TOKEN);
      if (choice === SET_TOKEN) await this.setToken();
      return;
    }
    void vscode.window.showErrorMessage(message);
  }
}

const DTYPE_NOTES: Readonly<Record<Dtype, string>> = {
  fp32: 'Full precision: the most faithful probabilities, the largest file',
  fp16: 'Half precision: half the size, probabilities very close to fp32',
  q8: '8-bit quantized: a quarter of fp32, small differences in probabilities',
  q4: '4-bit quantized weights: small, probabilities drift more',
  q4f16: '4-bit weights, half-precision activations: the smallest',
};

function catalogueSizes(entry: CatalogueEntry): string {
  const sizes = Object.entries(entry.sizesMB).map(([dtype, mb]) => `${dtype} ${mb! >= 1000 ? `${(mb! / 1000).toFixed(1)} GB` : `${mb} MB`}`);
  return `${entry.sizesReported ? '' : 'about '}${sizes.join(', ')}`;
}

function formatParameters(millions: number): string {
  return millions >= 1000 ? `${(millions / 1000).toFixed(2)}B` : `${millions}M`;
}

function progressText(p: DownloadProgress): string {
  if (p.phase === 'checking') return 'checking the files...';
  const file = p.file ? `${p.file.split('/').pop()}: ` : '';
  const speed = p.bytesPerSecond > 0 ? `, ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
  return p.phase === 'verifying' ? `${file}checking sha256...` : `${file}${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}${speed}`;
}

function abortOn(cancel: vscode.CancellationToken): AbortController {
  const controller = new AbortController();
  if (cancel.isCancellationRequested) controller.abort();
  cancel.onCancellationRequested(() => controller.abort());
  return controller;
}

function currentModelPath(): string {
  const value = vscode.workspace.getConfiguration(SECTION).inspect<string>('modelPath')?.globalValue;
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * Makes `folder` the model in use ('' = the bundled model). A downloaded folder holds one
 * graph, so a variant chosen for another folder is cleared rather than left to fail.
 */
async function useModelFolder(folder: string): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  if (config.inspect<string>('modelVariant')?.globalValue) await config.update('modelVariant', undefined, vscode.ConfigurationTarget.Global);
  await config.update('modelPath', folder, vscode.ConfigurationTarget.Global);
}
