/**
 * The surprisal heatmap. Decoration types are created once per colour bucket and per shard
 * of SHARD_TOKENS consecutive tokens, and reused; every update sets every type it used
 * (empty ones with []) so stale ranges always clear. Sharding keeps each step small: the
 * shards around the visible lines are drawn first, then the others one per event-loop
 * turn, so a large document never blocks the extension host for long.
 */
import * as vscode from 'vscode';
import { bucketTokens, RANK_BUCKETS, SURPRISAL_BINS, type ColorScheme } from '../core/colorBins';
import type { DocumentScores } from '../core/types';
import { firstTokenEndingAfter } from '../core/tokenView';
import type { ScoreStore } from './scoreStore';
import type { Settings } from './settings';
import { offsetsWithMargin } from './visibleText';

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
/** Tokens per shard: about 5 ms of work per step on a slow machine. */
const SHARD_TOKENS = 2000;

interface EditorState {
  /** Ranges currently set, per shard. */
  counts: number[];
  /** Bumped on every redraw; a pending step of an older redraw stops. */
  generation: number;
  timer?: NodeJS.Timeout;
}

export class Heatmap implements vscode.Disposable {
  private enabled: boolean;
  /** types[mode][shard][bucket], created on first use. */
  private types: { surprisal: vscode.TextEditorDecorationType[][]; rank: vscode.TextEditorDecorationType[][] } = { surprisal: [], rank: [] };
  private readonly editors = new WeakMap<vscode.TextEditor, EditorState>();

  constructor(
    private readonly store: ScoreStore,
    private settings: Settings,
    private readonly memento: vscode.Memento,
  ) {
    this.enabled = memento.get<boolean>(STATE_KEY, false);
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Ranges currently decorated in the editor (0 when the heatmap is off). */
  rangeCount(editor: vscode.TextEditor): number {
    if (!this.enabled) return 0;
    return (this.editors.get(editor)?.counts ?? []).reduce((a, b) => a + b, 0);
  }

  async setEnabled(enabled: boolean): Promise<void> {
    this.enabled = enabled;
    await this.memento.update(STATE_KEY, enabled);
    this.refreshAll();
  }

  updateSettings(settings: Settings): void {
    const paletteChanged = settings.palette !== this.settings.palette;
    this.settings = settings;
    if (paletteChanged) {
      // Disposing a decoration type removes its decorations from every editor.
      this.disposeTypes();
      for (const editor of vscode.window.visibleTextEditors) this.editors.delete(editor);
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
    const state = this.stateOf(editor);
    clearTimeout(state.timer);
    const generation = ++state.generation;
    const shardCount = Math.ceil(scores.tokenCount / SHARD_TOKENS);
    const visible = visibleShards(editor, scores);
    const order = [...visible, ...Array.from({ length: shardCount }, (_, i) => i).filter((i) => !visible.includes(i))];
    // Shards beyond the document's end (it got shorter) are cleared first.
    for (let shard = shardCount; shard < state.counts.length; shard++) this.drawShard(editor, state, scores, shard, true);
    state.counts.length = Math.min(state.counts.length, shardCount);
    const version = editor.document.version;
    const step = (position: number) => {
      if (state.generation !== generation || editor.document.version !== version) return;
      // The visible shards go in one go, the others one per turn of the event loop.
      const batch = position === 0 ? Math.max(1, visible.length) : 1;
      for (let i = position; i < Math.min(order.length, position + batch); i++) this.drawShard(editor, state, scores, order[i]!, false);
      if (position + batch < order.length) state.timer = setTimeout(() => step(position + batch), 0);
    };
    step(0);
  }

  clear(editor: vscode.TextEditor): void {
    const state = this.editors.get(editor);
    if (!state) return;
    clearTimeout(state.timer);
    state.generation++;
    for (let shard = 0; shard < state.counts.length; shard++) {
      for (const mode of ['surprisal', 'rank'] as const) for (const type of this.types[mode][shard] ?? []) editor.setDecorations(type, []);
    }
    state.counts = [];
  }

  /** The colour scheme in use, or null when the heatmap is off. */
  activeScheme(): ColorScheme | null {
    return this.enabled ? this.scheme() : null;
  }

  dispose(): void {
    this.disposeTypes();
  }

  private scheme(): ColorScheme {
    return this.settings.colorMode === 'rank'
      ? { mode: 'rank', thresholds: this.settings.rankThresholds }
      : { mode: 'surprisal', maxBits: this.settings.maxSurprisalBits };
  }

  private stateOf(editor: vscode.TextEditor): EditorState {
    let state = this.editors.get(editor);
    if (!state) {
      state = { counts: [], generation: 0 };
      this.editors.set(editor, state);
    }
    return state;
  }

  /** The decoration types of one shard, created on first use. */
  private shardTypes(mode: 'surprisal' | 'rank', shard: number): vscode.TextEditorDecorationType[] {
    const existing = this.types[mode][shard];
    if (existing) return existing;
    const palette = PALETTES[this.settings.palette];
    const make = (color: string | vscode.ThemeColor) => vscode.window.createTextEditorDecorationType({
      backgroundColor: color,
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    const created = mode === 'surprisal'
      ? Array.from({ length: SURPRISAL_BINS }, (_, i) => make(palette?.surprisal[i] ?? new vscode.ThemeColor(`surprisalLens.surprisal${i}`)))
      : RANK_COLOR_NAMES.slice(0, RANK_BUCKETS).map((name, i) => make(palette?.rank[i] ?? new vscode.ThemeColor(`surprisalLens.rank.${name}`)));
    this.types[mode][shard] = created;
    return created;
  }

  private disposeTypes(): void {
    for (const mode of ['surprisal', 'rank'] as const) for (const shard of this.types[mode]) for (const type of shard ?? []) type.dispose();
    this.types = { surprisal: [], rank: [] };
  }

  /** Sets every type of one shard: the active mode's buckets, and [] for the other mode. */
  private drawShard(editor: vscode.TextEditor, state: EditorState, scores: DocumentScores, shard: number, empty: boolean): void {
    const scheme = this.scheme();
    const first = shard * SHARD_TOKENS;
    const buckets = empty ? [] : bucketTokens(scores, scheme, first, first + SHARD_TOKENS);
    const document = editor.document;
    let count = 0;
    this.shardTypes(scheme.mode, shard).forEach((type, bucket) => {
      const ranges = (buckets[bucket] ?? []).map((i) => new vscode.Range(document.positionAt(scores.starts[i]!), document.positionAt(scores.ends[i]!)));
      count += ranges.length;
      editor.setDecorations(type, ranges);
    });
    const other = scheme.mode === 'rank' ? 'surprisal' : 'rank';
    for (const type of this.types[other][shard] ?? []) editor.setDecorations(type, []);
    state.counts[shard] = count;
  }
}

/** Shards holding the tokens of the visible lines (plus a margin), in order. */
function visibleShards(editor: vscode.TextEditor, scores: DocumentScores): number[] {
  const document = editor.document;
  const shards = new Set<number>();
  for (const r of editor.visibleRanges) {
    const { start, end } = offsetsWithMargin(document, r.start.line, r.end.line);
    const last = Math.max(0, scores.tokenCount - 1);
    const [from, to] = [Math.min(firstTokenEndingAfter(scores, start), last), Math.min(firstTokenEndingAfter(scores, end), last)];
    for (let s = Math.floor(from / SHARD_TOKENS); s <= Math.floor(to / SHARD_TOKENS); s++) shards.add(s);
  }
  return [...shards].filter((s) => s * SHARD_TOKENS < scores.tokenCount).sort((a, b) => a - b);
}
