export function mean(values: number[]): number {
  if (values.length === 0) {
    throw new Error('mean of an empty list');
  }
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total / values.length;
}
