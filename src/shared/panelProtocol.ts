/**
 * The contract between the extension host and the Next-Word Distribution webview: one
 * union per direction, and the validation of what the webview sends. Imported by both
 * bundles (the webview's is a browser bundle), so it has no runtime imports.
 */
import type { HistogramBin, RankBucket, SparkPoint } from '../core/documentFigures';
import type { DocumentSummary } from '../core/summary';
import type { GenerationRule, GenerationRuleKind } from '../core/generation';

export type { HistogramBin, RankBucket, SparkPoint, GenerationRule, GenerationRuleKind };
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
  /** 'difference': two models compared (steps -3..3, second minus first). */
  readonly mode: 'surprisal' | 'rank' | 'difference';
  /** What is coloured in the followed document: words or tokens. */
  readonly granularity: 'word' | 'token';
  readonly enabled: boolean;
  readonly entries: readonly { readonly step: number; readonly label: string }[];
}

export interface NoDocumentMessage {
  readonly type: 'noDocument';
  readonly reason: string;
}

/** One generation step, as its history row shows it. */
export interface GenerationStepRow {
  /** The word (or token) as it reads after the text before it. */
  readonly text: string;
  /** P(word | text before it), as the model listed it. */
  readonly prob: number;
  /** Its share in the distribution the rule drew from. */
  readonly share: number;
  /** 1-based rank among the listed candidates. */
  readonly rank: number;
  /** Entropy of the next-token distribution at the step, bits (NaN when the backend does not report it). */
  readonly entropyBits: number;
  /** Candidates the rule kept, of `listed`. */
  readonly kept: number;
  readonly listed: number;
  readonly rule: GenerationRuleKind;
}

/** What the rule drew from at the last step: the kept candidates and their renormalised shares. */
export interface GenerationDraw {
  readonly candidates: readonly { readonly text: string; readonly prob: number; readonly share: number; readonly chosen: boolean }[];
}

/** The generation history and whether a run is going on (sent after every change). */
export interface GenerationMessage {
  readonly type: 'generation';
  readonly running: boolean;
  /** Steps left in the current run (0 when none runs). */
  readonly remaining: number;
  readonly steps: readonly GenerationStepRow[];
  readonly lastDraw: GenerationDraw | null;
  /** Why the last run stopped, or what went wrong; '' when nothing to say. */
  readonly message: string;
}

export type ToPanel = WordsMessage | StatusMessage | DocumentViewMessage | NoDocumentMessage | LegendMessage | GenerationMessage;

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

/** Appends `count` words (1: "Step"), each picked by `rule` at the cursor of the followed editor. */
export interface GenerateMessage {
  readonly type: 'generate';
  readonly count: number;
  readonly rule: GenerationRule;
}
export interface StopGenerationMessage {
  readonly type: 'stopGeneration';
}
export interface UndoStepMessage {
  readonly type: 'undoStep';
}
export interface ClearHistoryMessage {
  readonly type: 'clearHistory';
}

export type FromPanel =
  | ReadyMessage | InsertMessage | RevealMessage | SetModeMessage | ExportMessage | RefreshMessage
  | GenerateMessage | StopGenerationMessage | UndoStepMessage | ClearHistoryMessage;

const MAX_INSERT_LENGTH = 1000;
/** Words one "Generate" may append. */
export const MAX_GENERATE_COUNT = 200;
export const MAX_TOP_K = 100;
export const MAX_SEED = 0xffffffff;
const RULE_KINDS: readonly GenerationRuleKind[] = ['greedy', 'sample', 'topK', 'topP'];

/** A rule from the webview, clamped to valid values; undefined when malformed. */
function parseRule(raw: unknown): GenerationRule | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!RULE_KINDS.includes(r.kind as GenerationRuleKind) || !finite(r.k) || !finite(r.p) || !finite(r.temperature) || !finite(r.seed)) return undefined;
  return {
    kind: r.kind as GenerationRuleKind,
    k: Math.min(MAX_TOP_K, Math.max(1, Math.floor(r.k))),
    p: Math.min(1, Math.max(0.01, r.p)),
    temperature: r.temperature,
    seed: Math.min(MAX_SEED, Math.max(0, Math.floor(r.seed))),
  };
}

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
    case 'generate': {
      const rule = parseRule(m.rule);
      if (!rule || typeof m.count !== 'number' || !Number.isSafeInteger(m.count) || m.count < 1 || m.count > MAX_GENERATE_COUNT) return undefined;
      return { type: 'generate', count: m.count, rule };
    }
    case 'stopGeneration':
      return { type: 'stopGeneration' };
    case 'undoStep':
      return { type: 'undoStep' };
    case 'clearHistory':
      return { type: 'clearHistory' };
    default:
      return undefined;
  }
}

// ---- the document view ----

export const MAX_SPARK_POINTS = 240;



