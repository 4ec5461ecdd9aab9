/**
 * How many cases a property test runs. `npm test` (and so CI) sets
 * SURPRISAL_LENS_FULL_PROPERTIES=1 and runs every case; `npm run test:unit` alone runs a
 * tenth (at least 20) with the same seeds, so the edit-test loop stays fast while every
 * property is still exercised.
 */
export const FULL_PROPERTIES = process.env.SURPRISAL_LENS_FULL_PROPERTIES === '1';

export function propertyRuns(full: number): number {
  return FULL_PROPERTIES ? full : Math.min(full, Math.max(20, Math.ceil(full / 10)));
}
