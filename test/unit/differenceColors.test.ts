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
import { contrast, luminance, over, parseHex, REFERENCE_THEMES, toLinear, type Rgba } from '../../src/core/heatmapColors';

const ROOT = join(__dirname, '..', '..');

/** Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB (as in heatmapColors.test.ts). */
const SIMULATIONS: Record<string, number[][]> = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};

function lab(c: Rgba, matrix: number[][]): [number, number, number] {
  const lin = [toLinear(c[0]), toLinear(c[1]), toLinear(c[2])];
  const [r, g, b] = matrix.map((row) => Math.min(1, Math.max(0, row[0]! * lin[0]! + row[1]! * lin[1]! + row[2]! * lin[2]!))) as [number, number, number];
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}
const deltaE = (a: [number, number, number], b: [number, number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const MIN_ADJACENT_DELTA_E = 4;

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
