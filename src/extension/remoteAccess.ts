/**
 * What the editor adds to scoring on an inference server: the API key (kept in
 * SecretStorage, never in settings), and the question asked before a document's text first
 * goes to a server (the rule is core/remote/serverConsent.ts: remembered per server, never
 * asked, and refused, in an untrusted workspace).
 */
import * as vscode from 'vscode';
import { ServerConsent } from '../core/remote/serverConsent';
import type { ModelService } from './modelService';

const API_KEY_SECRET = 'surprisalLens.remote.apiKey';
const ANSWERS_KEY = 'surprisalLens.remote.serverAnswers';
const SEND = 'Send to This Server';
const DONT_SEND = "Don't Send";

export function registerRemoteAccess(context: vscode.ExtensionContext, model: ModelService): vscode.Disposable[] {
  const readKey = async () => model.setRemoteApiKey((await context.secrets.get(API_KEY_SECRET)) || undefined);
  void readKey();
  const consent = new ServerConsent({
    isTrusted: () => vscode.workspace.isTrusted,
    answers: {
      get: () => context.globalState.get(ANSWERS_KEY, { allowed: [], declined: [] }),
      set: (answers) => Promise.resolve(context.globalState.update(ANSWERS_KEY, answers)),
    },
    ask: async (host, url) => {
      const choice = await vscode.window.showWarningMessage(
        `Surprisal Lens: send the text of your documents to ${host} for scoring?`,
        { modal: true, detail: `The setting surprisalLens.remote.url points to ${url}. Every document you score (hover, heatmap, panel) is sent there. Your answer is remembered for this server; "Surprisal Lens: Forget Inference Server Answers" asks again.` },
        SEND,
        DONT_SEND,
      );
      return choice === SEND ? 'send' : choice === DONT_SEND ? 'dontSend' : 'dismissed';
    },
  });
  model.setRemoteConsent((host, url) => consent.allow(host, url));
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
      void vscode.window.showInformationMessage('Surprisal Lens: the inference server API key was forgotten.');
    }),
    vscode.commands.registerCommand('surprisalLens.forgetRemoteServers', async () => {
      await consent.forget();
      // A backend that was allowed keeps that answer: rebuild it so the next request asks.
      model.reconnectRemote();
      void vscode.window.showInformationMessage('Surprisal Lens: your answers about sending documents to inference servers were forgotten; the next request asks again.');
    }),
  ];
}
