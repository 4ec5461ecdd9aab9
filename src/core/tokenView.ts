/**
 * Turning scores into the one per-token record shared by the CLI's JSON, the hover and the
 * panel's export (JSON and CSV): plain objects built on demand from the columns.
 */
import type { DocumentScores } from './types';

export interface Alternative {
  readonly id: number;
  readonly text: string;
  readonly prob: number;
}

export interface TokenView {
  readonly index: number;
  readonly id: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** null when the token is unscored (first token of a model without BOS). */
  readonly logprob: number | null;
  readonly prob: number | null;
  readonly surprisal: number | null;
  readonly rank: number | null;
  readonly entropy: number | null;
  readonly top: Alternative[];
}

export function tokenView(scores: DocumentScores, index: number, text: string, tokenTexts: (id: number) => string): TokenView {
  const logprob = scores.logprobs[index]!;
  const scored = !Number.isNaN(logprob);
  const top: Alternative[] = [];
  for (let j = 0; j < scores.topK; j++) {
    const id = scores.topIds[index * scores.topK + j]!;
    if (id < 0) break;
    top.push({ id, text: tokenTexts(id), prob: scores.topProbs[index * scores.topK + j]! });
  }
  const start = scores.starts[index]!;
  const end = scores.ends[index]!;
  return {
    index,
    id: scores.ids[index]!,
    text: start < end ? text.slice(start, end) : tokenTexts(scores.ids[index]!),
    start,
    end,
    logprob: scored ? logprob : null,
    prob: scored ? Math.exp(logprob) : null,
    surprisal: scored ? -logprob / Math.LN2 : null,
    rank: scored ? scores.ranks[index]! : null,
    entropy: scored ? scores.entropies[index]! : null,
    top,
  };
}

/** Every token's record, in document order. */
export function tokenViews(scores: DocumentScores, text: string, tokenTexts: (id: number) => string): TokenView[] {
  const views: TokenView[] = [];
  for (let i = 0; i < scores.tokenCount; i++) views.push(tokenView(scores, i, text, tokenTexts));
  return views;
}

/**
 * RFC 4180 CSV of token records, with the JSON's field names as the header (the top
 * alternative flattened into two columns). Text cells that a spreadsheet would run as a
 * formula (= + - @ at the start) get a leading apostrophe.
 */
export function tokenViewsCsv(views: readonly TokenView[]): string {
  const text = (value: string) => {
    const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n']/.test(safe) || safe !== safe.trim() ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const num = (value: number | null | undefined) => (value === null || value === undefined ? '' : String(value));
  const header = 'index,id,text,start,end,logprob,prob,surprisal,rank,entropy,top1,top1_prob';
  const lines = views.map((v) =>
    [v.index, v.id, text(v.text), v.start, v.end, num(v.logprob), num(v.prob), num(v.surprisal), num(v.rank), num(v.entropy), text(v.top[0]?.text ?? ''), num(v.top[0]?.prob)].join(','),
  );
  return `${[header, ...lines].join('\r\n')}\r\n`;
}

/**
 * The token whose range contains `offset` (binary search); undefined at the end of the
 * text. Tokens with empty ranges (leading bytes of a split character) contain no offset.
 */
export function tokenAt(scores: DocumentScores, offset: number): number | undefined {
  const i = firstTokenEndingAfter(scores, offset);
  return i < scores.tokenCount && scores.starts[i]! <= offset ? i : undefined;
}

/** Index of the first token whose range ends after `offset` (tokenCount if none). */
export function firstTokenEndingAfter(scores: DocumentScores, offset: number): number {
  let low = 0;
  let high = scores.tokenCount;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (scores.ends[mid]! <= offset) low = mid + 1;
    else high = mid;
  }
  return low;
}


/**
 * Index of the next token at or above the threshold starting at or after `offset`, or the
 * previous one starting before it.
 */
export function findSurprising(scores: DocumentScores, offset: number, thresholdBits: number, direction: 1 | -1): number | undefined {
  const threshold = -thresholdBits * Math.LN2; // logprob at or below this
  if (direction === 1) {
    for (let i = 0; i < scores.tokenCount; i++) {
      if (scores.starts[i]! >= offset && scores.logprobs[i]! <= threshold && scores.starts[i]! < scores.ends[i]!) return i;
    }
  } else {
    for (let i = scores.tokenCount - 1; i >= 0; i--) {
      if (scores.starts[i]! < offset && scores.logprobs[i]! <= threshold && scores.starts[i]! < scores.ends[i]!) return i;
    }
  }
  return undefined;
}
