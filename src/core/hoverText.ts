/**
 * The hover's Markdown, built from scores. It leads with what a reader wants (the word,
 * its probability and bits, its heatmap colour), then the prediction the word was drawn
 * from (rank, entropy, the top alternatives), then the link to the panel, then the token
 * detail. Every string that came from the document or the model is escaped, so a token
 * holding `*`, backticks, `<script>` or `[x](command:...)` is shown literally and can never
 * become markup or a link.
 */
import { describeBucket, type ColorScheme } from './colorBins';
import { formatPercent, visibleToken } from './format';
import { firstUnitEndingAfter, unitAt, type HeatUnits } from './heatUnits';
import { tokenView } from './tokenView';
import type { DocumentScores } from './types';

const MAX_SHOWN_CHARS = 40;
/** Alternatives listed (plus the actual token when it is not among them). */
export const HOVER_ALTERNATIVES = 5;
/** Token-detail lines shown for a word of many tokens (a long identifier, a run of digits). */
const MAX_DETAILED_TOKENS = 6;

/** Escapes every ASCII punctuation character Markdown could interpret, and HTML. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|~<>&"'=:$^%@/]/g, (c) => `\\${c}`)
    .replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/** A token as shown in a hover: visible whitespace, shortened, escaped. */
export function shownToken(text: string, maxChars = MAX_SHOWN_CHARS): string {
  const visible = visibleToken(text);
  const chars = Array.from(visible);
  const shortened = chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}\u2026` : visible;
  return escapeMarkdown(shortened === '' ? '\u2205' : shortened);
}

/** Plain text (a model name) on one line, shortened, escaped. */
function shortened(text: string, maxChars: number): string {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim());
  return escapeMarkdown(chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}\u2026` : chars.join(''));
}

export interface HoverContext {
  readonly text: string;
  readonly tokenText: (id: number) => string;
  readonly modelName: string;
  /** Command URI that opens the next-word panel at this token, or null. */
  readonly panelCommandUri: string | null;
  /** The heatmap's colour scheme, to say what this word's colour means; null when off. */
  readonly heatmap?: ColorScheme | null;
  /** The document's words (heatUnits.wordUnits); absent: the hover is about the token alone. */
  readonly words?: HeatUnits;
  /** A `data:image/svg+xml` swatch of the colour the heatmap gives a step, or null. */
  readonly swatch?: ((step: number) => string | null) | null;
  /** The heatmap step of the hovered word or token (for the swatch); absent when off. */
  readonly stepOf?: (bits: number, rank: number) => number;
  /** Two models compared (Compare with Model...): the second one's name and both models' bits per word. */
  readonly comparison?: HoverComparison | null;
}

export interface HoverComparison {
  readonly secondModelName: string;
  /** The document's words (core/comparison.ts): ranges, each model's bits, second minus first. */
  readonly words: {
    readonly count: number;
    readonly starts: Int32Array;
    readonly ends: Int32Array;
    readonly bitsA: Float64Array;
    readonly bitsB: Float64Array;
    readonly difference: Float64Array;
  };
}

/** The hovered word's figures under both models, side by side; null when the target is not one of the compared words. */
function comparisonLine(comparison: HoverComparison, start: number, end: number, modelName: string): string | null {
  const { words } = comparison;
  const u = firstUnitEndingAfter(words, start);
  if (u >= words.count || words.starts[u] !== start || words.ends[u] !== end) return null;
  const [a, b, d] = [words.bitsA[u]!, words.bitsB[u]!, words.difference[u]!];
  const second = shortened(comparison.secondModelName, 40);
  if (Number.isNaN(b) || Number.isNaN(a)) return `Compared with ${second}: not scored by both models  `;
  const sign = d > 0 ? '+' : d < 0 ? '\u2212' : '\u00B1';
  return `Compared: ${shortened(modelName, 40)} **${a.toFixed(2)} bits** \u00B7 ${second} **${b.toFixed(2)} bits** \u00B7 second \u2212 first **${sign}${Math.abs(d).toFixed(2)} bits**  `;
}

/** The hovered word (or, failing one, the token): its range, its tokens and its surprisal. */
export interface HoverTarget {
  readonly start: number;
  readonly end: number;
  readonly firstToken: number;
  readonly lastToken: number;
  /** Total surprisal, bits; NaN when unscored. */
  readonly bits: number;
  /** Highest rank among its tokens. */
  readonly rank: number;
}

/** The word under the token `index` when the words are known and it is scored, else the token itself. */
export function hoverTarget(scores: DocumentScores, index: number, text: string, words: HeatUnits | undefined): HoverTarget {
  if (words) {
    // The word holding the token's last non-space character: the word the token counts for.
    let last = scores.ends[index]! - 1;
    while (last > scores.starts[index]! && /\s/.test(text.charAt(last))) last--;
    const u = unitAt(words, Math.max(scores.starts[index]!, last));
    if (u !== undefined && !Number.isNaN(words.bits[u]!) && words.firstToken[u]! <= index && index <= words.lastToken[u]!) {
      return { start: words.starts[u]!, end: words.ends[u]!, firstToken: words.firstToken[u]!, lastToken: words.lastToken[u]!, bits: words.bits[u]!, rank: words.ranks[u]! };
    }
  }
  const lp = scores.logprobs[index]!;
  return { start: scores.starts[index]!, end: scores.ends[index]!, firstToken: index, lastToken: index, bits: Number.isNaN(lp) ? NaN : -lp / Math.LN2, rank: scores.ranks[index]! };
}

export function hoverMarkdown(scores: DocumentScores, index: number, context: HoverContext): string {
  const target = hoverTarget(scores, index, context.text, context.words);
  const first = tokenView(scores, target.firstToken, context.text, context.tokenText);
  const multi = target.lastToken > target.firstToken;
  const lines: string[] = [];
  const targetText = context.text.slice(target.start, target.end) || first.text;
  if (Number.isNaN(target.bits) || first.prob === null) {
    lines.push(`**${shownToken(targetText)}** \u00B7 ${shortened(context.modelName, 60)}`);
    lines.push('');
    lines.push('Unscored: this model has no beginning-of-text token, so nothing predicts the first token.');
    return lines.join('\n');
  }
  const step = context.heatmap && context.stepOf ? context.stepOf(target.bits, target.rank) : undefined;
  const swatch = step !== undefined ? context.swatch?.(step) ?? null : null;
  const image = swatch ? ` ![colour of step ${step}](${swatch})` : '';
  lines.push(`**${shownToken(targetText)}** \u00B7 **${formatPercent(2 ** -target.bits)}** \u00B7 **${target.bits.toFixed(2)} bits**${image}  `);
  const at = multi ? ` at **${shownToken(first.text, 24)}**` : '';
  // A server may not report a rank (0) or the entropy (NaN): say so rather than show a number.
  const rankText = first.rank! > 0 ? `Rank **#${first.rank}**` : 'Rank not reported';
  const entropyText = Number.isFinite(first.entropy) ? `Entropy **${first.entropy!.toFixed(2)} bits**` : 'entropy not reported';
  lines.push(`${rankText} \u00B7 ${entropyText}${at}  `);
  const mean = scores.summary.meanSurprisal;
  const meanText = Number.isFinite(mean) ? ` \u00B7 document mean ${mean.toFixed(2)} bits per token` : '';
  if (context.heatmap) lines.push(`Heatmap: ${escapeMarkdown(describeBucket(target.bits, target.rank, context.heatmap))}${meanText}  `);
  const compared = context.comparison ? comparisonLine(context.comparison, target.start, target.end, context.modelName) : null;
  if (compared) lines.push(compared);
  lines.push('');
  if (scores.topK === 0) {
    lines.push('No alternatives: the scoring server does not report them for the text\'s own tokens.  ');
  } else {
    lines.push(`**Top alternatives**${at}  `);
    const shown = first.top.slice(0, HOVER_ALTERNATIVES);
    shown.forEach((alt, i) => {
      const actual = alt.id === first.id;
      lines.push(actual ? `#${i + 1} **${shownToken(alt.text, 24)}** ${formatPercent(alt.prob)} \u25C0 actual  ` : `#${i + 1} ${shownToken(alt.text, 24)} ${formatPercent(alt.prob)}  `);
    });
    if (!shown.some((alt) => alt.id === first.id)) lines.push(`#${first.rank! > 0 ? first.rank : '?'} **${shownToken(first.text, 24)}** ${formatPercent(first.prob)} \u25C0 actual  `);
  }
  if (context.panelCommandUri) {
    lines.push('');
    lines.push(`[Show next-word distribution here](${context.panelCommandUri})`);
  }
  lines.push('');
  const lastDetailed = Math.min(target.lastToken, target.firstToken + MAX_DETAILED_TOKENS - 1);
  for (let i = target.firstToken; i <= lastDetailed; i++) {
    const t = tokenView(scores, i, context.text, context.tokenText);
    if (t.prob === null) continue;
    lines.push(`Token **${shownToken(t.text, 16)}** \u00B7 **${formatPercent(t.prob)}** \u00B7 **${t.surprisal!.toFixed(2)} bits** \u00B7 ln p = ${t.logprob!.toFixed(3)} \u00B7 ${i + 1} of ${scores.tokenCount}  `);
  }
  if (lastDetailed < target.lastToken) lines.push(`Token \u2026 and ${target.lastToken - lastDetailed} more tokens of this word  `);
  lines.push(`Model ${shortened(context.modelName, 60)}${multi ? ` \u00B7 word of ${target.lastToken - target.firstToken + 1} tokens` : ''}`);
  return lines.join('\n');
}
