import * as vscode from 'vscode';

/** Lines around the visible ones that count as visible (scored and decorated first). */
export const VISIBLE_MARGIN_LINES = 50;

/** The character offsets of `lines` (first to last, inclusive) widened by the margin, clamped to the document. */
export function offsetsWithMargin(document: vscode.TextDocument, firstLine: number, lastLine: number): { start: number; end: number } {
  const first = Math.max(0, firstLine - VISIBLE_MARGIN_LINES);
  const last = Math.min(document.lineCount - 1, lastLine + VISIBLE_MARGIN_LINES);
  return { start: document.offsetAt(new vscode.Position(first, 0)), end: document.offsetAt(document.lineAt(last).range.end) };
}
