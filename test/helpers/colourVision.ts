/**
 * Colour-vision simulation for the colour tests: Machado, Oliveira & Fernandes (2009)
 * matrices at severity 1.0 on linear RGB, greyscale (luminance only), and CIELAB (D65)
 * distances between the simulated colours.
 */
import { toLinear, type Rgba } from '../../src/core/heatmapColors';

export const NORMAL = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
export const PROTANOPIA = [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]];
export const DEUTERANOPIA = [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]];
export const TRITANOPIA = [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]];
export const GREYSCALE = [[0.2126, 0.7152, 0.0722], [0.2126, 0.7152, 0.0722], [0.2126, 0.7152, 0.0722]];

/** Smallest colour difference (CIELAB ΔE*76) between steps that must stay apart. */
export const MIN_ADJACENT_DELTA_E = 4;

/** CIELAB (D65) of an opaque sRGB colour after a linear-RGB simulation matrix. */
export function lab(c: Rgba, matrix: number[][]): [number, number, number] {
  const lin = [toLinear(c[0]), toLinear(c[1]), toLinear(c[2])];
  const [r, g, b] = matrix.map((row) => Math.min(1, Math.max(0, row[0]! * lin[0]! + row[1]! * lin[1]! + row[2]! * lin[2]!))) as [number, number, number];
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

export const deltaE = (a: [number, number, number], b: [number, number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
