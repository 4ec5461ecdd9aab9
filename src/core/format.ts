/**
 * How probabilities and tokens read, the same in the hover, the CLI and the panel's webview
 * (which bundles this file for the browser, so it imports nothing).
 */

/** A percentage with enough digits to stay readable for small values; monotone in p. */
export function formatPercent(p: number): string {
  const percent = p * 100;
  if (!(percent > 0)) return '0%';
  if (percent >= 10) return `${percent.toFixed(1)}%`;
  if (percent >= 0.1) return `${percent.toFixed(2)}%`;
  if (percent >= 1e-4) return `${percent.toPrecision(2)}%`;
  return `${percent.toExponential(1)}%`;
}

/** Makes whitespace and control characters visible in a token shown on its own. */
export function visibleToken(text: string): string {
  return text
    .replace(/\r\n/g, '\u23CE')
    .replace(/[\r\n]/g, '\u23CE')
    .replace(/\t/g, '\u2192')
    .replace(/ /g, '\u00B7')
    .replace(/[\u0000-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2064\uFEFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
