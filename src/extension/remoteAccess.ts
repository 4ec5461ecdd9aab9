/**
 * What the editor adds to scoring on an inference server: the API key (kept in
 * SecretStorage, never in settings), and the question asked before a document's text first
 * goes to a server (remembered per server; never asked, and refused, in an untrusted
 * workspace).
 */
import * as vscode from 'vscode';
import type { ModelService } from './modelService';

const API_KEY_SECRET = 'surprisalLens.remote.apiKey';
const CONSENT_KEY = 'surprisalLens.remote.allowedServers';

export function registerRemoteAccess(context: vscode.ExtensionContext, model: ModelService): vscode.Disposable[] {
  const readKey = async () => model.setRemoteApiKey((await context.secrets.get(API_KEY_SECRET)) || undefined);
  void readKey();
  model.setRemoteConsent(async (host, url) => {
    if (!vscode.workspace.isTrusted) return false;
    const allowed = context.globalState.get<string[]>(CONSENT_KEY, []);
    if (allowed.includes(url)) return true;
    const send = 'Send to This Server';
    const choice = await vscode.window.showWarningMessage(
      `Surprisal Lens: send the text of your documents to ${host} for scoring?`,
      { modal: true, detail: `The setting surprisalLens.remote.url points to ${url}. Every document you score (hover, heatmap, panel) is sent there. Your answer is remembered for this server.` },
      send,
    );
    if (choice !== send) return false;
    await context.globalState.update(CONSENT_KEY, [...allowed, url]);
    return true;
  });
  return [
    context.secrets.onDidChange((event) => {
      if (event.key === API_KEY_SECRET) void readKey();
    }),
    vscode.commands.registerCommand('surprisalLens.setRemoteApiKey', async () => {
      const key = await vscode.window.showInputBox({
        title: 'Inference server API key',
        prompt: 'The key the server was started with (vLLM --api-key; sent as a Bearer token to surprisalLens.remote.url only). Kept in VS Code\'s secret storage.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (value) => (/^\S+$/.test(value) ? undefined : 'A key has no spaces.'),
      });
      if (key) await context.secrets.store(API_KEY_SECRET, key);
    }),
    vscode.commands.registerCommand('surprisalLens.clearRemoteApiKey', async () => {
      await context.secrets.delete(API_KEY_SECRET);
      await context.globalState.update(CONSENT_KEY, []);
      void vscode.window.showInformationMessage('Surprisal Lens: the inference server API key and the servers you allowed were forgotten.');
    }),
  ];
}
