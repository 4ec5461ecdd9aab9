/**
 * The heatmap's default colours, checked against the editor colours of VS Code's built-in
 * themes: package.json contributes exactly the defaults of src/core/heatmapColors.ts; step
 * 0 is uncoloured; each step is more salient than the one before (fills brighter in dark
 * themes and stronger in light ones, underlines at least as thick); the editor foreground
 * keeps WCAG 4.5:1 over every fill (7:1 in high contrast); adjacent steps stay apart under
 * simulated protanopia, deuteranopia and tritanopia.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RANK_BUCKETS, SURPRISAL_STEPS } from '../../src/core/colorBins';
import {
  colorContributions,
  contrast,
  luminance,
  over,
  parseHex,
  RANK_STEPS,
  REFERENCE_THEMES,
  SURPRISAL_FILLS,
  SURPRISAL_UNDERLINES,
  swatchDataUri,
  UNDERLINE_STYLES,
  UNDERLINE_WIDTHS,
} from '../../src/core/heatmapColors';
import { deltaE, DEUTERANOPIA, GREYSCALE, lab, MIN_ADJACENT_DELTA_E, PROTANOPIA, TRITANOPIA } from '../helpers/colourVision';

const ROOT = join(__dirname, '..', '..');

/** The simulations every pair of adjacent steps must survive. */
const SIMULATIONS: Record<string, number[][]> = { protanopia: PROTANOPIA, deuteranopia: DEUTERANOPIA, tritanopia: TRITANOPIA, greyscale: GREYSCALE };

describe('heatmap colour defaults', () => {
  it('package.json contributes exactly the defaults of heatmapColors.ts', () => {
    // The difference mode's colours are checked in differenceColors.test.ts.
    const contributed = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).contributes.colors as { id: string; defaults: Record<string, string> }[])
      .filter((c) => !c.id.startsWith('surprisalLens.difference'));
    const expected = colorContributions();
    assert.deepEqual(contributed.map((c) => c.id), expected.map((c) => c.id));
    for (const [i, c] of expected.entries()) assert.deepEqual(contributed[i]!.defaults, c.defaults, c.id);
    assert.equal(expected.length, 2 * (SURPRISAL_STEPS + RANK_BUCKETS));
  });

  for (const theme of REFERENCE_THEMES) {
    describe(theme.name, () => {
      const background = parseHex(theme.background);
      const foreground = parseHex(theme.foreground);
      const highContrast = theme.kind === 'highContrast' || theme.kind === 'highContrastLight';
      const fills = SURPRISAL_FILLS[theme.kind].map((hex) => over(parseHex(hex), background));
      const underlines = SURPRISAL_UNDERLINES[theme.kind].map(parseHex);

      it('leaves step 0 (expected tokens) uncoloured', () => {
        assert.equal(parseHex(SURPRISAL_FILLS[theme.kind][0]!)[3], 0);
        assert.equal(underlines[0]![3], 0);
      });

      it(`keeps the editor foreground at ${highContrast ? '7' : '4.5'}:1 or more over every step`, () => {
        const minimum = highContrast ? 7 : 4.5;
        for (const [step, fill] of fills.entries()) {
          const ratio = contrast(foreground, fill);
          assert.ok(ratio >= minimum, `${theme.name} step ${step}: ${theme.foreground} on the fill gives ${ratio.toFixed(2)}:1`);
        }
        if (highContrast) for (const hex of SURPRISAL_FILLS[theme.kind]) assert.equal(parseHex(hex)[3], 0, 'high contrast: underlines replace fills');
      });

      it('makes each step more salient than the one before', () => {
        const dark = luminance(background) < 0.5;
        for (let step = 1; step < SURPRISAL_STEPS; step++) {
          assert.ok(UNDERLINE_WIDTHS[step]! >= UNDERLINE_WIDTHS[step - 1]!, 'underlines never get thinner');
          if (highContrast) {
            // Underlines carry the steps: visible against the background, and each step thicker or a different colour.
            assert.ok(contrast(underlines[step]!, background) >= 3, `${theme.name} step ${step}: underline at ${contrast(underlines[step]!, background).toFixed(2)}:1`);
            continue;
          }
          const [before, now] = [luminance(fills[step - 1]!), luminance(fills[step]!)];
          assert.ok(dark ? now > before : now < before, `${theme.name} step ${step}: luminance ${before.toFixed(4)} -> ${now.toFixed(4)}`);
        }
      });

      it(`keeps adjacent steps at least ΔE ${MIN_ADJACENT_DELTA_E} apart under colour-vision deficiencies and in greyscale`, () => {
        for (const [name, matrix] of Object.entries(SIMULATIONS)) {
          for (let step = 1; step < SURPRISAL_STEPS; step++) {
            if (highContrast) {
              // Step 1 is the first underlined; after it the thickness differs, or the line style, or the colour.
              const thicker = UNDERLINE_WIDTHS[step]! > UNDERLINE_WIDTHS[step - 1]!;
              const restyled = UNDERLINE_STYLES[step] !== UNDERLINE_STYLES[step - 1];
              const apart = deltaE(lab(underlines[step]!, matrix), lab(underlines[step - 1]!, matrix)) >= MIN_ADJACENT_DELTA_E;
              assert.ok(step === 1 || thicker || restyled || apart, `${theme.name}, ${name}: steps ${step - 1} and ${step} look alike`);
              continue;
            }
            const difference = deltaE(lab(fills[step]!, matrix), lab(fills[step - 1]!, matrix));
            assert.ok(difference >= MIN_ADJACENT_DELTA_E, `${theme.name}, ${name}: steps ${step - 1} and ${step} are ΔE ${difference.toFixed(1)} apart`);
          }
        }
      });
    });
  }

  it('rank buckets reuse the surprisal steps: top 10 uncoloured, then ever more salient', () => {
    assert.deepEqual(RANK_STEPS, [0, 2, 4, 5]);
    const byId = new Map(colorContributions().map((c) => [c.id, c.defaults]));
    for (const [bucket, name] of ['top10', 'top100', 'top1000', 'beyond'].entries()) {
      assert.deepEqual(byId.get(`surprisalLens.rank.${name}`), byId.get(`surprisalLens.surprisal${RANK_STEPS[bucket]}`));
      assert.deepEqual(byId.get(`surprisalLens.rankUnderline.${name}`), byId.get(`surprisalLens.surprisalUnderline${RANK_STEPS[bucket]}`));
    }
  });

  it('draws a swatch as an SVG data URI of the step\'s colours', () => {
    const uri = swatchDataUri('dark', 5);
    assert.match(uri, /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/);
    const svg = atob(uri.slice(uri.indexOf(',') + 1));
    assert.match(svg, /^<svg [^>]*width="14"/);
    assert.ok(svg.includes('fill="#1f1f1f"'), 'over the theme background');
    assert.ok(svg.includes('rgb(165,57,0)'), 'the step 5 fill');
    assert.ok(svg.includes('rgb(255,162,122)'), 'the step 5 underline');
  });
});
