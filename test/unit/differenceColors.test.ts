/**
 * The difference mode's default colours (two models compared), checked against the editor
 * colours of VS Code's built-in themes as the surprisal colours are: package.json
 * contributes exactly these defaults; the editor foreground keeps WCAG 4.5:1 over every
 * fill (fills are left out in high contrast, where underlines are visible at 3:1 and
 * thicker with the difference); each side grows more salient; adjacent steps, and the two
 * sides at the same step, stay apart under simulated colour-vision deficiencies.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIFFERENCE_SIDE_STEPS } from '../../src/core/comparison';
import {
  colouredDifferenceSteps,
  DIFFERENCE_UNDERLINE_STYLES,
  DIFFERENCE_UNDERLINE_WIDTHS,
  differenceColorContributions,
  differenceDefaults,
} from '../../src/core/differenceColors';
import { contrast, luminance, over, parseHex, REFERENCE_THEMES } from '../../src/core/heatmapColors';
import { deltaE, DEUTERANOPIA, lab, MIN_ADJACENT_DELTA_E, NORMAL, PROTANOPIA, TRITANOPIA } from '../helpers/colourVision';

const ROOT = join(__dirname, '..', '..');

/** The views the two sides and adjacent steps must stay apart in. */
const SIMULATIONS: Record<string, number[][]> = { normal: NORMAL, protanopia: PROTANOPIA, deuteranopia: DEUTERANOPIA, tritanopia: TRITANOPIA };

describe('difference colour defaults', () => {
  it('package.json contributes exactly these defaults', () => {
    const contributed = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).contributes.colors as { id: string; defaults: Record<string, string> }[])
      .filter((c) => c.id.startsWith('surprisalLens.difference'));
    const expected = differenceColorContributions();
    assert.deepEqual(contributed.map((c) => c.id), expected.map((c) => c.id));
    for (const [i, c] of expected.entries()) assert.deepEqual(contributed[i]!.defaults, c.defaults, c.id);
    assert.equal(expected.length, 2 * 2 * DIFFERENCE_SIDE_STEPS, 'a fill and an underline per coloured step');
    assert.deepEqual(colouredDifferenceSteps(), [-3, -2, -1, 1, 2, 3]);
  });

  for (const theme of REFERENCE_THEMES) {
    describe(theme.name, () => {
      const background = parseHex(theme.background);
      const foreground = parseHex(theme.foreground);
      const highContrast = theme.kind === 'highContrast' || theme.kind === 'highContrastLight';
      const fill = (step: number) => over(parseHex(differenceDefaults(theme.kind, step).fill), background);
      const underline = (step: number) => parseHex(differenceDefaults(theme.kind, step).underline);

      it(`keeps the editor foreground at 4.5:1 or more over every fill${highContrast ? ' (no fills: underlines)' : ''}`, () => {
        for (const step of colouredDifferenceSteps()) {
          const ratio = contrast(foreground, fill(step));
          assert.ok(ratio >= (highContrast ? 7 : 4.5), `step ${step}: ${ratio.toFixed(2)}:1`);
          if (highContrast) {
            assert.equal(parseHex(differenceDefaults(theme.kind, step).fill)[3], 0);
            assert.ok(contrast(underline(step), background) >= 3, `step ${step}: underline at ${contrast(underline(step), background).toFixed(2)}:1`);
          }
        }
      });

      it('makes each side more salient with a larger difference', () => {
        const dark = luminance(background) < 0.5;
        for (const sign of [-1, 1]) {
          for (let magnitude = 2; magnitude <= DIFFERENCE_SIDE_STEPS; magnitude++) {
            if (highContrast) {
              assert.ok(DIFFERENCE_UNDERLINE_WIDTHS[magnitude - 1]! > DIFFERENCE_UNDERLINE_WIDTHS[magnitude - 2]!, 'underlines get thicker');
              continue;
            }
            const [before, now] = [luminance(fill(sign * (magnitude - 1))), luminance(fill(sign * magnitude))];
            assert.ok(dark ? now > before : now < before, `step ${sign * magnitude}: luminance ${before.toFixed(4)} -> ${now.toFixed(4)}`);
          }
        }
      });

      it(`keeps adjacent steps, and the two sides, at least ΔE ${MIN_ADJACENT_DELTA_E} apart under colour-vision deficiencies`, () => {
        if (highContrast) {
          // Sides differ by line style as well as colour; steps by thickness (checked above).
          assert.notEqual(DIFFERENCE_UNDERLINE_STYLES.fewer, DIFFERENCE_UNDERLINE_STYLES.more);
          return;
        }
        for (const [name, matrix] of Object.entries(SIMULATIONS)) {
          for (let magnitude = 1; magnitude <= DIFFERENCE_SIDE_STEPS; magnitude++) {
            const sides = deltaE(lab(fill(-magnitude), matrix), lab(fill(magnitude), matrix));
            assert.ok(sides >= MIN_ADJACENT_DELTA_E, `${name}: fewer and more at step ${magnitude} are ΔE ${sides.toFixed(1)} apart`);
            if (magnitude === 1) {
              const fromBackground = deltaE(lab(fill(-1), matrix), lab(background, matrix));
              assert.ok(fromBackground >= MIN_ADJACENT_DELTA_E, `${name}: step 1 is ΔE ${fromBackground.toFixed(1)} from the background`);
              continue;
            }
            for (const sign of [-1, 1]) {
              const apart = deltaE(lab(fill(sign * magnitude), matrix), lab(fill(sign * (magnitude - 1)), matrix));
              assert.ok(apart >= MIN_ADJACENT_DELTA_E, `${name}: steps ${sign * (magnitude - 1)} and ${sign * magnitude} are ΔE ${apart.toFixed(1)} apart`);
            }
          }
        }
      });
    });
  }
});
