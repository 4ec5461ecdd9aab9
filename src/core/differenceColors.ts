/**
 * The default colours of the heatmap's difference mode (two models compared, see
 * comparison.ts), per theme kind, contributed as theme colours in package.json like the
 * surprisal colours of heatmapColors.ts.
 *
 * A diverging scale: blue where the second model needed fewer bits than the first, orange
 * where it needed more (blue and orange stay apart under every common colour-vision
 * deficiency), each side more salient with a larger difference; "about the same" is left
 * uncoloured. High-contrast themes get no fills, only underlines: dashed for fewer, solid
 * for more, thicker with the difference.
 *
 * Rules the defaults keep (test/unit/differenceColors.test.ts): the editor foreground keeps
 * WCAG 4.5:1 over every fill; each side's steps grow in salience; adjacent steps and the
 * two sides at equal steps stay apart under simulated protanopia, deuteranopia and
 * tritanopia.
 */
import { DIFFERENCE_SIDE_STEPS } from './comparison';
import { THEME_KINDS, type ColorContribution, type ThemeKind } from './heatmapColors';

const NONE = '#00000000';

/** Fills for steps 1..3 of each side, per theme kind; index 0 is step ±1. */
export const FEWER_FILLS: Record<ThemeKind, readonly string[]> = {
  dark: ['#1d3147d9', '#1f4468d9', '#22588ad9'],
  light: ['#dcebf8d9', '#b9d7f2d9', '#94c2ecd9'],
  highContrast: [NONE, NONE, NONE],
  highContrastLight: [NONE, NONE, NONE],
};
export const MORE_FILLS: Record<ThemeKind, readonly string[]> = {
  dark: ['#3f2a17d9', '#5e3812d9', '#7d470cd9'],
  light: ['#fbe6cbd9', '#f8cd98d9', '#f5b466d9'],
  highContrast: [NONE, NONE, NONE],
  highContrastLight: [NONE, NONE, NONE],
};
export const FEWER_UNDERLINES: Record<ThemeKind, readonly string[]> = {
  dark: [NONE, NONE, NONE],
  light: [NONE, NONE, NONE],
  highContrast: ['#7cc4ff', '#7cc4ff', '#7cc4ff'],
  highContrastLight: ['#0b5cad', '#0b5cad', '#0b5cad'],
};
export const MORE_UNDERLINES: Record<ThemeKind, readonly string[]> = {
  dark: [NONE, NONE, NONE],
  light: [NONE, NONE, NONE],
  highContrast: ['#ffab52', '#ffab52', '#ffab52'],
  highContrastLight: ['#a33b00', '#a33b00', '#a33b00'],
};
/** Underline thickness per step magnitude (1..3) and style per side. */
export const DIFFERENCE_UNDERLINE_WIDTHS: readonly number[] = [1, 2, 3];
export const DIFFERENCE_UNDERLINE_STYLES = { fewer: 'dashed', more: 'solid' } as const;

const sideName = (step: number) => (step < 0 ? 'fewer' : 'more');
/** Theme colour ids of a signed step (±1..±3). */
export const differenceFillId = (step: number) => `surprisalLens.difference.${sideName(step)}${Math.abs(step)}`;
export const differenceUnderlineId = (step: number) => `surprisalLens.differenceUnderline.${sideName(step)}${Math.abs(step)}`;

/** The default fill and underline of a signed step in a theme kind. */
export function differenceDefaults(kind: ThemeKind, step: number): { fill: string; underline: string } {
  const i = Math.abs(step) - 1;
  return step < 0 ? { fill: FEWER_FILLS[kind][i]!, underline: FEWER_UNDERLINES[kind][i]! } : { fill: MORE_FILLS[kind][i]!, underline: MORE_UNDERLINES[kind][i]! };
}

/** The signed steps that are coloured, most negative first. */
export function colouredDifferenceSteps(): number[] {
  const steps: number[] = [];
  for (let s = -DIFFERENCE_SIDE_STEPS; s <= DIFFERENCE_SIDE_STEPS; s++) if (s !== 0) steps.push(s);
  return steps;
}

/** The `contributes.colors` entries of the difference mode. */
export function differenceColorContributions(): ColorContribution[] {
  const out: ColorContribution[] = [];
  for (const step of colouredDifferenceSteps()) {
    const what = `difference mode, the second model needing ${step < 0 ? 'fewer' : 'more'} bits (step ${Math.abs(step)} of ${DIFFERENCE_SIDE_STEPS})`;
    const per = (key: 'fill' | 'underline') => Object.fromEntries(THEME_KINDS.map((kind) => [kind, differenceDefaults(kind, step)[key]])) as Record<ThemeKind, string>;
    out.push({ id: differenceFillId(step), description: `Heatmap background in ${what}.`, defaults: per('fill') });
    out.push({ id: differenceUnderlineId(step), description: `Heatmap underline in ${what}.`, defaults: per('underline') });
  }
  return out;
}
