/**
 * The heatmap's default colours per theme kind: the single source of the defaults that
 * package.json contributes as theme colours (a unit test checks they agree, and checks the
 * rules below against each theme kind's editor colours).
 *
 * Rules the defaults keep (test/unit/heatmapColors.test.ts):
 * - step 0 (expected tokens) is uncoloured; each later step is more salient: in dark
 *   themes its fill is brighter, in light themes stronger, in every theme its underline is
 *   at least as thick;
 * - the editor's default foreground keeps a WCAG contrast of 4.5:1 over every fill (7:1 in
 *   high contrast, where the fills are left out and underlines of growing thickness carry
 *   the steps, so text keeps the theme's own contrast);
 * - adjacent steps stay apart in lightness under protanopia, deuteranopia and tritanopia
 *   (fills ordered by luminance; underlines by thickness).
 * Users and themes override any of them through the theme colour ids.
 */
import { RANK_BUCKETS, SURPRISAL_STEPS } from './colorBins';

export type ThemeKind = 'dark' | 'light' | 'highContrast' | 'highContrastLight';
export const THEME_KINDS: readonly ThemeKind[] = ['dark', 'light', 'highContrast', 'highContrastLight'];

const NONE = '#00000000';

/** Fill (background) of each surprisal step, per theme kind; #RRGGBBAA. */
export const SURPRISAL_FILLS: Record<ThemeKind, readonly string[]> = {
  dark: [NONE, '#39271ad9', '#542c13d9', '#6f2e0ad9', '#8a3200d9', '#a53900d9'],
  light: [NONE, '#f9e0aed9', '#fbc381d9', '#fea66ad9', '#fd8b57d9', '#fe6e4bd9'],
  highContrast: [NONE, NONE, NONE, NONE, NONE, NONE],
  highContrastLight: [NONE, NONE, NONE, NONE, NONE, NONE],
};

/** Underline colour of each surprisal step, per theme kind. */
export const SURPRISAL_UNDERLINES: Record<ThemeKind, readonly string[]> = {
  dark: [NONE, NONE, NONE, '#b8652c', '#e8844a', '#ffa27a'],
  light: [NONE, NONE, NONE, '#c0571c', '#a8420f', '#8f2a00'],
  highContrast: [NONE, '#ffd27a', '#ffb35c', '#ff9447', '#ff7a3d', '#ff5f57'],
  highContrastLight: [NONE, '#8a6500', '#995200', '#a34100', '#ad2f00', '#b3001b'],
};

/** Underline thickness (px) and style per step, the same in every theme (only the colours differ). */
export const UNDERLINE_WIDTHS: readonly number[] = [0, 1, 1, 2, 3, 4];
export const UNDERLINE_STYLES: readonly string[] = ['solid', 'dotted', 'solid', 'solid', 'solid', 'solid'];

/** Rank buckets reuse the surprisal steps: top 10 uncoloured, then steps 2, 4 and 5. */
export const RANK_STEPS: readonly number[] = [0, 2, 4, 5];
export const RANK_NAMES: readonly string[] = ['top10', 'top100', 'top1000', 'beyond'];

/** Theme colour ids (package.json `contributes.colors`). */
export const surprisalFillId = (step: number) => `surprisalLens.surprisal${step}`;
export const surprisalUnderlineId = (step: number) => `surprisalLens.surprisalUnderline${step}`;
export const rankFillId = (bucket: number) => `surprisalLens.rank.${RANK_NAMES[bucket]}`;
export const rankUnderlineId = (bucket: number) => `surprisalLens.rankUnderline.${RANK_NAMES[bucket]}`;

export interface ColorContribution {
  readonly id: string;
  readonly description: string;
  readonly defaults: Record<ThemeKind, string>;
}

/** The `contributes.colors` entries these defaults make. */
export function colorContributions(): ColorContribution[] {
  const perKind = (table: Record<ThemeKind, readonly string[]>, step: number) =>
    Object.fromEntries(THEME_KINDS.map((kind) => [kind, table[kind][step]!])) as Record<ThemeKind, string>;
  const out: ColorContribution[] = [];
  for (let step = 0; step < SURPRISAL_STEPS; step++) {
    const what = step === 0 ? 'expected tokens (step 0, uncoloured by default)' : `surprisal step ${step} of ${SURPRISAL_STEPS - 1}`;
    out.push({ id: surprisalFillId(step), description: `Heatmap background for ${what}.`, defaults: perKind(SURPRISAL_FILLS, step) });
    out.push({ id: surprisalUnderlineId(step), description: `Heatmap underline for ${what}.`, defaults: perKind(SURPRISAL_UNDERLINES, step) });
  }
  for (let bucket = 0; bucket < RANK_BUCKETS; bucket++) {
    const step = RANK_STEPS[bucket]!;
    const what = `rank mode, ${RANK_NAMES[bucket]} bucket`;
    out.push({ id: rankFillId(bucket), description: `Heatmap background in ${what}.`, defaults: perKind(SURPRISAL_FILLS, step) });
    out.push({ id: rankUnderlineId(bucket), description: `Heatmap underline in ${what}.`, defaults: perKind(SURPRISAL_UNDERLINES, step) });
  }
  return out;
}

/** Editor colours of the built-in themes the defaults are checked against. */
export const REFERENCE_THEMES: readonly { readonly name: string; readonly kind: ThemeKind; readonly background: string; readonly foreground: string }[] = [
  { name: 'Dark Modern', kind: 'dark', background: '#1f1f1f', foreground: '#cccccc' },
  { name: 'Dark+', kind: 'dark', background: '#1e1e1e', foreground: '#d4d4d4' },
  { name: 'Light Modern', kind: 'light', background: '#ffffff', foreground: '#3b3b3b' },
  { name: 'Light+', kind: 'light', background: '#ffffff', foreground: '#000000' },
  { name: 'Dark High Contrast', kind: 'highContrast', background: '#000000', foreground: '#ffffff' },
  { name: 'Light High Contrast', kind: 'highContrastLight', background: '#ffffff', foreground: '#292929' },
];

// ---- colour maths (WCAG 2 relative luminance and contrast) ----

export type Rgba = readonly [number, number, number, number];

export function parseHex(hex: string): Rgba {
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(hex);
  if (!m) throw new Error(`not a #RRGGBB[AA] colour: ${hex}`);
  const v = parseInt(m[1]!, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255, m[2] ? parseInt(m[2], 16) / 255 : 1];
}

/** `top` drawn over the opaque `bottom` (as the browser composites the decoration). */
export function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top[3];
  return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
}

export function toLinear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

export function luminance(c: Rgba): number {
  return 0.2126 * toLinear(c[0]) + 0.7152 * toLinear(c[1]) + 0.0722 * toLinear(c[2]);
}

export function contrast(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** An opaque colour as #rrggbb (for swatches). */
export function toHex(c: Rgba): string {
  return `#${c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A 14 x 14 picture of a step's default colours over the theme kind's editor background
 * (fill, and the underline at its thickness), as a `data:` URI for hovers and tooltips.
 * It shows the defaults: a colour overridden in the user's settings is not known here.
 */
export function swatchDataUri(kind: ThemeKind, step: number, fillOverride?: string): string {
  const background = REFERENCE_THEMES.find((t) => t.kind === kind)!.background;
  const fill = parseHex(fillOverride ?? SURPRISAL_FILLS[kind][step]!);
  const underline = fillOverride ? parseHex(NONE) : parseHex(SURPRISAL_UNDERLINES[kind][step]!);
  const width = UNDERLINE_WIDTHS[step]!;
  const rgb = (c: Rgba) => `rgb(${c[0]},${c[1]},${c[2]})`;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="14" height="14" viewBox="0 0 14 14">`,
    `<rect width="14" height="14" fill="${background}"/>`,
    `<rect width="14" height="14" fill="${rgb(fill)}" fill-opacity="${fill[3].toFixed(3)}"/>`,
    underline[3] > 0 && width > 0 ? `<rect y="${14 - 2 * width}" width="14" height="${2 * width}" fill="${rgb(underline)}" fill-opacity="${underline[3].toFixed(3)}"/>` : '',
    `<rect x="0.5" y="0.5" width="13" height="13" fill="none" stroke="#808080" stroke-width="1"/>`,
    '</svg>',
  ].join('');
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}
