/**
 * The surprisal heatmap: one decoration type per colour bucket, created once and reused;
 * every update sets every type (empty ones with []) so stale ranges always clear. Visible
 * lines are decorated first, the rest of the document right after.
 */
import * as vscode from 'vscode';
import { bucketTokens, RANK_BUCKETS, SURPRISAL_BINS, type ColorScheme } from '../core/colorBins';
import type { DocumentScores } from '../core/engine';
import type { ScoreStore } from './scoreStore';
import type { Settings } from './settings';

const STATE_KEY = 'surprisalLens.heatmapEnabled';
const RANK_COLOR_NAMES = ['top10', 'top100', 'top1000', 'beyond'];

/**
 * Built-in alternatives to the theme colours. Both are readable for the common forms of
 * colour blindness (viridis is perceptually uniform; greys carry no hue at all).
 */
const PALETTES: Record<string, { surprisal: string[]; rank: string[] } | undefined> = {
  theme: undefined,
  viridis: {
    surprisal: ['#44015430', '#46327e38', '#365c8d40', '#277f8e48', '#1fa18750', '#4ac16d60', '#a0da3970', '#fde72580'],
    rank: ['#365c8d45', '#1fa18755', '#a0da3970', '#fde72585'],
  },
  grayscale: {
    surprisal: ['#80808010', '#80808020', '#80808030', '#80808040', '#80808055', '#80808070', '#80808090', '#808080b0'],
    rank: ['#80808015', '#80808045', '#80808075', '#808080b0'],
  },
};
/** Lines above and below the visible ranges decorated in the first pass. */
const VISIBLE_MARGIN_LINES = 50;

export class Heatmap implements vscode.Disposable {
  private enabled: boolean;
  private surprisalTypes: vscode.TextEditorDecorationType[] = [];
  private rankTypes: vscode.TextEditorDecorationType[] = [];
  private readonly rangeCounts = new WeakMap<vscode.TextEditor, number>();
  private readonly changed = new vscode.EventEmitter<boolean>();
  readonly onDidChangeEnabled = this.changed.event;
  private pendingRest: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ScoreStore,
    private settings: Settings,
    private readonly memento: vscode.Memento,
  ) {
    this.enabled = memento.get<boolean>(STATE_KEY, false);
    this.createTypes();
  }

  /** One decoration type per bucket, for the palette in the settings. */
  private createTypes(): void {
    const make = (color: string | vscode.ThemeColor) => vscode.window.createTextEditorDecorationType({
      backgroundColor: color,
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    const palette = PALETTES[this.settings.palette];
    this.surprisalTypes = Array.from({ length: SURPRISAL_BINS }, (_, i) => make(palette?.surprisal[i] ?? new vscode.ThemeColor(`surprisalLens.surprisal${i}`)));
    this.rankTypes = RANK_COLOR_NAMES.slice(0, RANK_BUCKETS).map((name, i) => make(palette?.rank[i] ?? new vscode.ThemeColor(`surprisalLens.rank.${name}`)));
  }

  private disposeTypes(): void {
    for (const type of [...this.surprisalTypes, ...this.rankTypes]) type.dispose();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Ranges currently decorated in the editor (0 when the heatmap is off). */
  rangeCount(editor: vscode.TextEditor): number {
    return this.enabled ? this.rangeCounts.get(editor) ?? 0 : 0;
  }

  async setEnabled(enabled: boolean): Promise<void> {
    this.enabled = enabled;
    await this.memento.update(STATE_KEY, enabled);
    this.changed.fire(enabled);
    this.refreshAll();
  }

  updateSettings(settings: Settings): void {
    const paletteChanged = settings.palette !== this.settings.palette;
    this.settings = settings;
    if (paletteChanged) {
      // Disposing a decoration type removes its decorations from every editor.
      this.disposeTypes();
      this.createTypes();
    }
    this.refreshAll();
  }

  refreshAll(): void {
    for (const editor of vscode.window.visibleTextEditors) this.refresh(editor);
  }

  /** Redraws one editor from the scores of its current document version. */
  refresh(editor: vscode.TextEditor): void {
    if (!this.enabled) {
      this.clear(editor);
      return;
    }
    // Scores for an older version are never drawn; until the new ones arrive, the existing
    // decorations stay where VS Code moved them with the edit.
    const entry = this.store.current(editor.document) ?? this.store.partial(editor.document);
    if (!entry) return;
    const scores = entry.scores;
    const document = editor.document;
    const visible = editor.visibleRanges.map((r) => new vscode.Range(
      Math.max(0, r.start.line - VISIBLE_MARGIN_LINES), 0,
      Math.min(document.lineCount - 1, r.end.line + VISIBLE_MARGIN_LINES), Number.MAX_SAFE_INTEGER,
    ));
    const first = visible.length > 0 ? tokenRange(scores, document, visible) : null;
    this.apply(editor, scores, first);
    if (first && (first[0] > 0 || first[1] < scores.tokenCount)) {
      clearTimeout(this.pendingRest);
      const version = document.version;
      this.pendingRest = setTimeout(() => {
        const latest = this.store.current(document) ?? this.store.partial(document);
        if (this.enabled && document.version === version && latest?.scores === scores) this.apply(editor, scores, null);
      }, 0);
    }
  }

  clear(editor: vscode.TextEditor): void {
    for (const type of [...this.surprisalTypes, ...this.rankTypes]) editor.setDecorations(type, []);
    this.rangeCounts.set(editor, 0);
  }

  dispose(): void {
    clearTimeout(this.pendingRest);
    this.disposeTypes();
    this.changed.dispose();
  }

  /** The colour scheme in use, or null when the heatmap is off. */
  activeScheme(): ColorScheme | null {
    return this.enabled ? this.scheme() : null;
  }

  private scheme(): ColorScheme {
    return this.settings.colorMode === 'rank'
      ? { mode: 'rank', thresholds: this.settings.rankThresholds }
      : { mode: 'surprisal', maxBits: this.settings.maxSurprisalBits };
  }

  private apply(editor: vscode.TextEditor, scores: DocumentScores, tokens: [number, number] | null): void {
    const scheme = this.scheme();
    const buckets = bucketTokens(scores, scheme, tokens?.[0] ?? 0, tokens?.[1] ?? scores.tokenCount);
    const active = scheme.mode === 'rank' ? this.rankTypes : this.surprisalTypes;
    const inactive = scheme.mode === 'rank' ? this.surprisalTypes : this.rankTypes;
    const document = editor.document;
    let count = 0;
    active.forEach((type, bucket) => {
      const ranges = buckets[bucket]!.map((i) => new vscode.Range(document.positionAt(scores.starts[i]!), document.positionAt(scores.ends[i]!)));
      count += ranges.length;
      editor.setDecorations(type, ranges);
    });
    for (const type of inactive) editor.setDecorations(type, []);
    this.rangeCounts.set(editor, count);
  }
}

/** The tokens overlapping the given line ranges (one span from the first to the last). */
function tokenRange(scores: DocumentScores, document: vscode.TextDocument, ranges: vscode.Range[]): [number, number] {
  const startOffset = Math.min(...ranges.map((r) => document.offsetAt(r.start)));
  const endOffset = Math.max(...ranges.map((r) => document.offsetAt(document.validateRange(r).end)));
  const lowerBound = (offset: number) => {
    let lo = 0;
    let hi = scores.tokenCount;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (scores.ends[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return [lowerBound(startOffset), Math.min(scores.tokenCount, lowerBound(endOffset) + 1)];
}
