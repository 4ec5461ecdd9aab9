/** Document-level figures from per-token log-probs. */

export interface DocumentSummary {
  /** Tokens with a score (all but an unscored first token). */
  readonly scoredTokens: number;
  /** Mean surprisal over scored tokens, bits. */
  readonly meanSurprisal: number;
  /** exp(mean negative log-likelihood), i.e. 2^meanSurprisal. */
  readonly perplexity: number;
  /** Total surprisal (bits) over the document's UTF-8 bytes. */
  readonly bitsPerByte: number;
  /** Total surprisal (bits) over the document's characters (code points). */
  readonly bitsPerChar: number;
  readonly totalBits: number;
}

const encoder = new TextEncoder();

export function summarise(logprobs: ArrayLike<number>, text: string): DocumentSummary {
  let totalNats = 0;
  let scored = 0;
  for (let i = 0; i < logprobs.length; i++) {
    const lp = logprobs[i]!;
    if (Number.isNaN(lp)) continue;
    totalNats -= lp;
    scored++;
  }
  const totalBits = totalNats / Math.LN2;
  const bytes = utf8Length(text);
  let chars = 0;
  for (const _ of text) chars++;
  const meanSurprisal = scored > 0 ? totalBits / scored : NaN;
  return {
    scoredTokens: scored,
    meanSurprisal,
    perplexity: scored > 0 ? Math.exp(totalNats / scored) : NaN,
    bitsPerByte: bytes > 0 ? totalBits / bytes : NaN,
    bitsPerChar: chars > 0 ? totalBits / chars : NaN,
    totalBits,
  };
}

/** UTF-8 length as TextEncoder counts it (a lone surrogate is 3 bytes, as U+FFFD). */
export function utf8Length(text: string): number {
  // Chunked so a multi-megabyte document does not allocate one huge buffer; a chunk never
  // ends between the halves of a surrogate pair.
  let bytes = 0;
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + 65536, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    bytes += encoder.encode(text.slice(start, end)).length;
    start = end;
  }
  return bytes;
}
