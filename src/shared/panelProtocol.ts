/**
 * The contract between the extension host and the Next-Word Distribution webview: one
 * union per direction, and the validation of what the webview sends. Imported by both
 * bundles (the webview's is a browser bundle), so it has no runtime imports.
 */
import type { HistogramBin, RankBucket, SparkPoint } from '../core/documentFigures';
import type { DocumentSummary } from '../core/summary';

export type { HistogramBin, RankBucket, SparkPoint };
export type PanelMode = 'words' | 'tokens';
export type ExportFormat = 'csv' | 'json';

export interface PanelCandidate {
  /** The whole word (or token) as it reads after the conditioned text. */
  readonly text: string;
  /** What inserting it types at the cursor; '' when it cannot be inserted. */
  readonly completion: string;
  readonly prob: number;
}

// ---- host -> webview ----

export interface WordsMessage {
  readonly type: 'words';
  /** Identifies this list; an insert names the list it picked from. */
  readonly requestId: number;
  readonly mode: PanelMode;
  readonly candidates: readonly PanelCandidate[];
  readonly entropyBits: number;
  readonly contextTail: string;
  readonly partial: string;
  readonly midWord: boolean;
  readonly endsHereProb: number;
  readonly exact: boolean;
  readonly truncated: boolean;
  readonly fileName: string;
  /** 0-based position of the cursor the list is for. */
  readonly line: number;
  readonly character: number;
  readonly elapsedMs: number;
}

export interface StatusMessage {
  readonly type: 'status';
  readonly state: 'loading' | 'working' | 'ready' | 'error' | 'noEditor';
  readonly message: string;
}



export interface DocumentViewMessage {
  readonly type: 'document';
  readonly fileName: string;
  readonly version: number;
  readonly modelName: string;
  readonly tokenCount: number;
  readonly summary: DocumentSummary;
  readonly rankBuckets: readonly RankBucket[];
  readonly histogram: readonly HistogramBin[];
  readonly sparkline: readonly SparkPoint[];
}

/** The heatmap's key: what each colour means in the mode in use (sent whenever it may have changed). */
export interface LegendMessage {
  readonly type: 'legend';
  readonly mode: 'surprisal' | 'rank';
  /** What is coloured in the followed document: words or tokens. */
  readonly granularity: 'word' | 'token';
  readonly enabled: boolean;
  readonly entries: readonly { readonly step: number; readonly label: string }[];
}

export interface NoDocumentMessage {
  readonly type: 'noDocument';
  readonly reason: string;
}

export type ToPanel = WordsMessage | StatusMessage | DocumentViewMessage | NoDocumentMessage | LegendMessage;

// ---- webview -> host ----

export interface ReadyMessage {
  readonly type: 'ready';
  /** The mode the webview restored from its saved state. */
  readonly mode: PanelMode;
}
export interface InsertMessage {
  readonly type: 'insert';
  readonly requestId: number;
  readonly index: number;
  /** The candidate's `completion`, checked against what the host sent. */
  readonly text: string;
}
export interface RevealMessage {
  readonly type: 'reveal';
  readonly tokenIndex: number;
}
export interface SetModeMessage {
  readonly type: 'setMode';
  readonly mode: PanelMode;
}
export interface ExportMessage {
  readonly type: 'export';
  readonly format: ExportFormat;
}
export interface RefreshMessage {
  readonly type: 'refresh';
}

export type FromPanel = ReadyMessage | InsertMessage | RevealMessage | SetModeMessage | ExportMessage | RefreshMessage;

const MAX_INSERT_LENGTH = 1000;

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
function isMode(value: unknown): value is PanelMode {
  return value === 'words' || value === 'tokens';
}

/** A well-formed message from the webview, or undefined (anything else is ignored). */
export function parseFromPanel(raw: unknown): FromPanel | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready', mode: isMode(m.mode) ? m.mode : 'words' };
    case 'insert':
      if (!isIndex(m.requestId) || !isIndex(m.index) || typeof m.text !== 'string' || m.text.length === 0 || m.text.length > MAX_INSERT_LENGTH) return undefined;
      return { type: 'insert', requestId: m.requestId, index: m.index, text: m.text };
    case 'reveal':
      return isIndex(m.tokenIndex) ? { type: 'reveal', tokenIndex: m.tokenIndex } : undefined;
    case 'setMode':
      return isMode(m.mode) ? { type: 'setMode', mode: m.mode } : undefined;
    case 'export':
      return m.format === 'csv' || m.format === 'json' ? { type: 'export', format: m.format } : undefined;
    case 'refresh':
      return { type: 'refresh' };
    default:
      return undefined;
  }
}

// ---- the document view ----

export const MAX_SPARK_POINTS = 240;



