/** Jumping between surprising tokens, and the opt-in Problems-panel listing of them. */
import * as vscode from 'vscode';
import type { DocumentScores } from '../core/types';
import { findSurprising } from '../core/tokenView';
import type { ScoreStore } from './scoreStore';

/** At most this many tokens are listed as diagnostics per document. */
const MAX_DIAGNOSTICS = 500;

export async function goToSurprising(store: ScoreStore, thresholdBits: number, direction: 1 | -1): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !store.isEligible(editor.document)) return;
  const entry = await store.scoreNow(editor.document);
  if (entry.version !== editor.document.version) return;
  // From the selection's far edge, so a token that Next/Previous just selected is skipped.
  const offset = editor.document.offsetAt(direction === 1 ? editor.selection.end : editor.selection.start);
  const index = findSurprising(entry.scores, offset, thresholdBits, direction);
  if (index === undefined) {
    void vscode.window.setStatusBarMessage(`No token with surprisal of ${thresholdBits} bits or more ${direction === 1 ? 'after' : 'before'} the cursor`, 4000);
    return;
  }
  const range = new vscode.Range(editor.document.positionAt(entry.scores.starts[index]!), editor.document.positionAt(entry.scores.ends[index]!));
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

export function surprisalDiagnostics(document: vscode.TextDocument, scores: DocumentScores, thresholdBits: number): vscode.Diagnostic[] {
  const diagnostics: vscode.Diagnostic[] = [];
  const threshold = -thresholdBits * Math.LN2;
  for (let i = 0; i < scores.tokenCount && diagnostics.length < MAX_DIAGNOSTICS; i++) {
    const lp = scores.logprobs[i]!;
    if (!(lp <= threshold) || scores.starts[i] === scores.ends[i]) continue;
    const range = new vscode.Range(document.positionAt(scores.starts[i]!), document.positionAt(scores.ends[i]!));
    const diagnostic = new vscode.Diagnostic(range, `Surprising token: ${(-lp / Math.LN2).toFixed(1)} bits (rank ${scores.ranks[i]})`, vscode.DiagnosticSeverity.Information);
    diagnostic.source = 'Surprisal Lens';
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}
