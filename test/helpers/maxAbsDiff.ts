import assert from 'node:assert/strict';

/** Largest |a[i] - b[i]| over equal-length arrays; positions NaN in both (unscored) are skipped. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]!) && Number.isNaN(b[i]!)) continue;
    max = Math.max(max, Math.abs(a[i]! - b[i]!));
  }
  return max;
}
