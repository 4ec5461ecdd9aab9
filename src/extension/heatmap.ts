/**
 * The surprisal heatmap. It colours units (words in prose, tokens in code, or as the
 * `heatmap.granularity` setting says; see core/heatUnits.ts) by their surprisal step or
 * rank bucket. Decoration types are created once per step and per shard of SHARD_UNITS
 * consecutive units, and reused; every update sets every type it used (empty ones with
 * []) so stale ranges always clear. Sharding keeps each step small: the shards around the
 * visible lines are drawn first, then the others one per event-loop turn, so a large
 * document never blocks the extension host for long.
 *
 * While two models are compared (comparison.ts), the heatmap is in difference mode: each
 * word coloured by the second model's bits minus the first's, on a diverging scale of theme
 * colours (core/differenceColors.ts; the palette setting does not apply to it).
 */
import * as vscode from 'vscode';
import { RANK_BUCKETS, stepOf, SURPRISAL_STEPS, type ColorScheme } from '../core/colorBins';
import { DIFFERENCE_SIDE_STEPS, differenceStep, type WordComparison } from '../core/comparison';
import { DIFFERENCE_UNDERLINE_STYLES, DIFFERENCE_UNDERLINE_WIDTHS, differenceDefaults, differenceFillId, differenceUnderlineId } from '../core/differenceColors';
import { rankFillId, rankUnderlineId, RANK_STEPS, surprisalFillId, surprisalUnderlineId, swatchDataUri, UNDERLINE_STYLES, UNDERLINE_WIDTHS, type ThemeKind } from '../core/heatmapColors';
import { firstUnitEndingAfter, tokenUnits, wordUnits, type Granularity, type HeatUnits } from '../core/heatUnits';
import type { DocumentScores } from '../core/types';
import type { ScoreStore } from './scoreStore';
import type { Settings } from './settings';
import { offsetsWithMargin } from './visibleText';

const STATE_KEY = 'surprisalLens.heatmapEnabled';

/** Languages coloured word by word when the granularity is 'auto'; everything else by token. */
export const PROSE_LANGUAGES = new Set(['markdown', 'plaintext', 'latex', 'tex', 'restructuredtext', 'asciidoc', 'org', 'git-commit', 'scminput']);

/**
 * Built-in alternatives to the theme colours, the same in every theme (so without the
 * per-theme contrast guarantees of the defaults). Step 0 stays uncoloured. viridis is
 * perceptually uniform; greys carry no hue at all.
 */
const PALETTES: Record<string, { surprisal: string[]; rank: string[] } | undefined> = {
  theme: undefined,
  viridis: {
    surprisal: ['#00000000', '#3b528b40', '#2c728e50', '#21918c60', '#5ec96270', '#fde72580'],
    rank: ['#00000000', '#2c728e50', '#5ec96270', '#fde72580'],
  },
  grayscale: {
    surprisal: ['#00000000', '#80808020', '#80808038', '#80808055', '#80808078', '#808080a0'],
    rank: ['#00000000', '#80808038', '#80808078', '#808080a0'],
  },
};
/** Units per shard: about 5 ms of work per step on a slow machine. */
const SHARD_UNITS = 2000;
/** Decoration types per shard in difference mode: one per signed step, -3..3 (index step + 3; 0 is never drawn). */
const DIFFERENCE_TYPES = 2 * DIFFERENCE_SIDE_STEPS + 1;

type DrawMode = 'surprisal' | 'rank' | 'difference';
const DRAW_MODES: readonly DrawMode[] = ['surprisal', 'rank', 'difference'];

interface EditorState {
  /** Ranges currently set, per shard. */
  counts: number[];
  /** Bumped on every redraw; a pending step of an older redraw stops. */
  generation: number;
  timer?: NodeJS.Timeout;
}

export class Heatmap implements vscode.Disposable {
  private enabled: boolean;
  /** types[mode][shard][step], created on first use. */
  private types: Record<DrawMode, vscode.TextEditorDecorationType[][]> = { surprisal: [], rank: [], difference: [] };
  /** While two models are compared: the comparison of a document's current version, once both scored it. */
  private differenceSource: ((document: vscode.TextDocument) => WordComparison | undefined) | undefined;
  private readonly differenceUnits = new WeakMap<WordComparison, HeatUnits>();
  private readonly editors = new WeakMap<vscode.TextEditor, EditorState>();
  /** Units of each scoring, per granularity, computed once. */
  private readonly units = new WeakMap<DocumentScores, Partial<Record<Granularity, HeatUnits>>>();

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

  /** Colours by the difference between two models (`source` gives it per document), or, with undefined, by surprisal again. */
  setDifferenceSource(source: ((document: vscode.TextDocument) => WordComparison | undefined) | undefined): void {
    this.differenceSource = source;
    this.refreshAll();
  }

  /** What the heatmap colours now: surprisal, rank, or the difference between two models. */
  get drawMode(): DrawMode {
    return this.differenceSource ? 'difference' : this.scheme().mode;
  }

  /** Words or tokens, for a document of this language. */
  granularityFor(languageId: string): Granularity {
    const setting = this.settings.heatmapGranularity;
    if (setting !== 'auto') return setting;
    return PROSE_LANGUAGES.has(languageId) ? 'word' : 'token';
  }

  /** The units a scoring of `text` is coloured by (cached per scoring). */
  unitsOf(scores: DocumentScores, text: string, granularity: Granularity): HeatUnits {
    let cached = this.units.get(scores);
    if (!cached) {
      cached = {};
      this.units.set(scores, cached);
    }
    return (cached[granularity] ??= granularity === 'word' ? wordUnits(text, scores) : tokenUnits(scores));
  }

  /** Redraws one editor from the scores of its current document version. */
  refresh(editor: vscode.TextEditor): void {
    if (!this.enabled) {
      this.clear(editor);
      return;
    }
    // Scores for an older version are never drawn; until the new ones arrive, the existing
    // decorations stay where VS Code moved them with the edit.
    let units: HeatUnits;
    if (this.differenceSource) {
      // Until both models scored this version, the decorations stay where the edit moved them.
      const comparison = this.differenceSource(editor.document);
      if (!comparison) return;
      units = this.unitsOfComparison(comparison);
    } else {
      const entry = this.store.current(editor.document) ?? this.store.partial(editor.document);
      if (!entry) return;
      units = this.unitsOf(entry.scores, editor.document.getText(), this.granularityFor(editor.document.languageId));
    }
    const state = this.stateOf(editor);
    clearTimeout(state.timer);
    const generation = ++state.generation;
    const shardCount = Math.ceil(units.count / SHARD_UNITS);
    const visible = visibleShards(editor, units);
    const order = [...visible, ...Array.from({ length: shardCount }, (_, i) => i).filter((i) => !visible.includes(i))];
    // Shards beyond the document's end (it got shorter) are cleared first.
    for (let shard = shardCount; shard < state.counts.length; shard++) this.drawShard(editor, state, units, shard, true);
    state.counts.length = Math.min(state.counts.length, shardCount);
    const version = editor.document.version;
    const step = (position: number) => {
      if (state.generation !== generation || editor.document.version !== version) return;
      // The visible shards go in one go, the others one per turn of the event loop.
      const batch = position === 0 ? Math.max(1, visible.length) : 1;
      for (let i = position; i < Math.min(order.length, position + batch); i++) this.drawShard(editor, state, units, order[i]!, false);
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
      for (const mode of DRAW_MODES) for (const type of this.types[mode][shard] ?? []) editor.setDecorations(type, []);
    }
    state.counts = [];
  }

  /** The colour scheme in use, or null when the heatmap is off. */
  activeScheme(): ColorScheme | null {
    return this.enabled ? this.scheme() : null;
  }

  /** The scheme the settings choose (whether or not the heatmap is on): for legends. */
  scheme(): ColorScheme {
    return this.settings.colorMode === 'rank'
      ? { mode: 'rank', thresholds: this.settings.rankThresholds }
      : { mode: 'surprisal', maxBits: this.settings.maxSurprisalBits };
  }

  /** A picture of the colour `step` gets in the current theme kind and palette, for hovers and legends (null when nothing is drawn). */
  swatch(mode: ColorScheme['mode'], step: number): string | null {
    const palette = PALETTES[this.settings.palette];
    if (palette) {
      const colour = mode === 'surprisal' ? palette.surprisal[step] : palette.rank[step];
      return colour ? swatchDataUri(themeKind(), 0, colour) : null;
    }
    return swatchDataUri(themeKind(), mode === 'surprisal' ? step : RANK_STEPS[step]!);
  }

  dispose(): void {
    this.disposeTypes();
  }

  private stateOf(editor: vscode.TextEditor): EditorState {
    let state = this.editors.get(editor);
    if (!state) {
      state = { counts: [], generation: 0 };
      this.editors.set(editor, state);
    }
    return state;
  }

  /** The comparison as units: each word with its difference (second minus first) as `bits`. */
  private unitsOfComparison(comparison: WordComparison): HeatUnits {
    let units = this.differenceUnits.get(comparison);
    if (!units) {
      units = { ...comparison.unitsA, bits: comparison.difference };
      this.differenceUnits.set(comparison, units);
    }
    return units;
  }

  /** A swatch of a difference step's default colour in the current theme kind, for legends (null for the uncoloured step 0). */
  differenceSwatch(step: number): string | null {
    if (step === 0) return null;
    return swatchDataUri(themeKind(), 0, differenceDefaults(themeKind(), step).fill);
  }

  /** The decoration types of one shard, created on first use. */
  private shardTypes(mode: DrawMode, shard: number): vscode.TextEditorDecorationType[] {
    const existing = this.types[mode][shard];
    if (existing) return existing;
    if (mode === 'difference') {
      const created = Array.from({ length: DIFFERENCE_TYPES }, (_, index) => {
        const step = index - DIFFERENCE_SIDE_STEPS;
        if (step === 0) return vscode.window.createTextEditorDecorationType({});
        const magnitude = Math.abs(step);
        return vscode.window.createTextEditorDecorationType({
          backgroundColor: new vscode.ThemeColor(differenceFillId(step)),
          borderColor: new vscode.ThemeColor(differenceUnderlineId(step)),
          borderStyle: step < 0 ? DIFFERENCE_UNDERLINE_STYLES.fewer : DIFFERENCE_UNDERLINE_STYLES.more,
          borderWidth: `0 0 ${DIFFERENCE_UNDERLINE_WIDTHS[magnitude - 1]}px 0`,
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        });
      });
      this.types.difference[shard] = created;
      return created;
    }
    const palette = PALETTES[this.settings.palette];
    const make = (step: number, fill: string | vscode.ThemeColor, underline: vscode.ThemeColor | undefined) => vscode.window.createTextEditorDecorationType({
      backgroundColor: fill,
      ...(underline && UNDERLINE_WIDTHS[step]! > 0
        ? { borderColor: underline, borderStyle: UNDERLINE_STYLES[step]!, borderWidth: `0 0 ${UNDERLINE_WIDTHS[step]}px 0` }
        : {}),
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    const created = mode === 'surprisal'
      ? Array.from({ length: SURPRISAL_STEPS }, (_, step) =>
        palette ? make(step, palette.surprisal[step]!, undefined) : make(step, new vscode.ThemeColor(surprisalFillId(step)), new vscode.ThemeColor(surprisalUnderlineId(step))))
      : Array.from({ length: RANK_BUCKETS }, (_, bucket) => {
        const step = RANK_STEPS[bucket]!;
        return palette ? make(step, palette.rank[bucket]!, undefined) : make(step, new vscode.ThemeColor(rankFillId(bucket)), new vscode.ThemeColor(rankUnderlineId(bucket)));
      });
    this.types[mode][shard] = created;
    return created;
  }

  private disposeTypes(): void {
    for (const mode of DRAW_MODES) for (const shard of this.types[mode]) for (const type of shard ?? []) type.dispose();
    this.types = { surprisal: [], rank: [], difference: [] };
  }

  /** Sets every type of one shard: the active mode's steps, and [] for the other modes. */
  private drawShard(editor: vscode.TextEditor, state: EditorState, units: HeatUnits, shard: number, empty: boolean): void {
    const scheme = this.scheme();
    const mode = this.drawMode;
    const first = shard * SHARD_UNITS;
    const count = mode === 'difference' ? DIFFERENCE_TYPES : mode === 'surprisal' ? SURPRISAL_STEPS : RANK_BUCKETS;
    const ranges: vscode.Range[][] = Array.from({ length: count }, () => []);
    if (!empty) {
      const document = editor.document;
      for (let u = first; u < Math.min(units.count, first + SHARD_UNITS); u++) {
        const bits = units.bits[u]!;
        // Unscored, or (rank mode) a rank the scoring server did not report.
        if (Number.isNaN(bits) || (scheme.mode === 'rank' && units.ranks[u] === 0)) continue;
        if (mode === 'difference') {
          // "About the same" is left uncoloured (and not counted).
          const step = differenceStep(bits);
          if (step !== 0) ranges[step + DIFFERENCE_SIDE_STEPS]!.push(new vscode.Range(document.positionAt(units.starts[u]!), document.positionAt(units.ends[u]!)));
          continue;
        }
        ranges[stepOf(bits, units.ranks[u]!, scheme)]!.push(new vscode.Range(document.positionAt(units.starts[u]!), document.positionAt(units.ends[u]!)));
      }
    }
    let drawn = 0;
    this.shardTypes(mode, shard).forEach((type, step) => {
      drawn += ranges[step]!.length;
      editor.setDecorations(type, ranges[step]!);
    });
    for (const other of DRAW_MODES) if (other !== mode) for (const type of this.types[other][shard] ?? []) editor.setDecorations(type, []);
    state.counts[shard] = drawn;
  }
}

/** The kind of the active colour theme, as the theme colour defaults are keyed. */
export function themeKind(): ThemeKind {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light:
      return 'light';
    case vscode.ColorThemeKind.HighContrast:
      return 'highContrast';
    case vscode.ColorThemeKind.HighContrastLight:
      return 'highContrastLight';
    default:
      return 'dark';
  }
}

/** Shards holding the units of the visible lines (plus a margin), in order. */
function visibleShards(editor: vscode.TextEditor, units: HeatUnits): number[] {
  const document = editor.document;
  const shards = new Set<number>();
  for (const r of editor.visibleRanges) {
    const { start, end } = offsetsWithMargin(document, r.start.line, r.end.line);
    const last = Math.max(0, units.count - 1);
    const [from, to] = [Math.min(firstUnitEndingAfter(units, start), last), Math.min(firstUnitEndingAfter(units, end), last)];
    for (let s = Math.floor(from / SHARD_UNITS); s <= Math.floor(to / SHARD_UNITS); s++) shards.add(s);
  }
  return [...shards].filter((s) => s * SHARD_UNITS < units.count).sort((a, b) => a - b);
}
