/**
 * The hover's Markdown, built from scores. Every string that came from the document or the
 * model is escaped, so a token holding `*`, backticks, `<script>` or `[x](command:...)` is
 * shown literally and can never become markup or a link.
 */
import { describeBucket, type ColorScheme } from './colorBins';
import type { DocumentScores } from './types';
import { formatPercent, visibleToken } from './format';
import { tokenView } from './tokenView';

const MAX_SHOWN_CHARS = 40;

/** Escapes every ASCII punctuation character Markdown could interpret, and HTML. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|~<>&"'=:$^%@/]/g, (c) => `\\${c}`)
    .replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/** A token as shown in a hover: visible whitespace, shortened, escaped. */
export function shownToken(text: string): string {
  const visible = visibleToken(text);
  const chars = Array.from(visible);
  const shortened = chars.length > MAX_SHOWN_CHARS ? `${chars.slice(0, MAX_SHOWN_CHARS).join('')}\u2026` : visible;
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
  /** The heatmap's colour scheme, to say what this token's colour means; null when off. */
  readonly heatmap?: ColorScheme | null;
}

/** The span of letters/digits around a token, when it takes more than one token. */
export function wordAround(scores: DocumentScores, text: string, index: number): { first: number; last: number; logprob: number } | null {
  const isWordChar = (offset: number) => offset >= 0 && offset < text.length && /[\p{L}\p{N}\p{M}_]/u.test(String.fromCodePoint(text.codePointAt(offset)!));
  let first = index;
  let last = index;
  // Extend over neighbours as long as the boundary between them falls inside a word.
  while (first > 0 && isWordChar(scores.starts[first]! - 1) && isWordChar(scores.starts[first]!)) first--;
  while (last < scores.tokenCount - 1 && isWordChar(scores.ends[last]! - 1) && isWordChar(scores.ends[last]!)) last++;
  if (first === last) return null;
  let logprob = 0;
  for (let i = first; i <= last; i++) logprob += scores.logprobs[i]!;
  return Number.isNaN(logprob) ? null : { first, last, logprob };
}

export function hoverMarkdown(scores: DocumentScores, index: number, context: HoverContext): string {
  const t = tokenView(scores, index, context.text, context.tokenText);
  const lines: string[] = [];
  lines.push(`**${shownToken(t.text)}** \u00B7 token ${index + 1} of ${scores.tokenCount} \u00B7 ${shortened(context.modelName, 60)}`);
  lines.push('');
  if (t.prob === null) {
    lines.push('Unscored: this model has no beginning-of-text token, so nothing predicts the first token.');
    return lines.join('\n');
  }
  const mean = scores.summary.meanSurprisal;
  lines.push(`Probability **${formatPercent(t.prob)}** (ln p = ${t.logprob!.toFixed(3)})  `);
  lines.push(`Surprisal **${t.surprisal!.toFixed(2)} bits** (document mean ${Number.isFinite(mean) ? mean.toFixed(2) : '-'} bits)  `);
  lines.push(`Rank **#${t.rank}** \u00B7 Entropy **${t.entropy!.toFixed(2)} bits**  `);
  if (context.heatmap) lines.push(`Heatmap colour: ${escapeMarkdown(describeBucket(t.surprisal!, t.rank!, context.heatmap))}  `);
  const word = wordAround(scores, context.text, index);
  if (word) {
    // The first token may carry the space before the word; the word itself is shown.
    const wordText = context.text.slice(scores.starts[word.first]!, scores.ends[word.last]!).trim();
    lines.push(`Word ${shownToken(wordText)} (${word.last - word.first + 1} tokens): probability **${formatPercent(Math.exp(word.logprob))}**, ${(-word.logprob / Math.LN2).toFixed(2)} bits  `);
  }
  lines.push('');
  lines.push('**Top alternatives**');
  lines.push('');
  lines.push('| # | token | probability | |');
  lines.push('|--:|:--|--:|:--|');
  const best = t.top[0]?.prob ?? 1;
  t.top.forEach((alt, i) => {
    const actual = alt.id === t.id;
    const bar = '\u2588'.repeat(Math.max(1, Math.round((alt.prob / best) * 10)));
    const name = actual ? `**${shownToken(alt.text)}** \u25C0 actual` : shownToken(alt.text);
    lines.push(`| ${i + 1} | ${name} | ${formatPercent(alt.prob)} | ${bar} |`);
  });
  if (!t.top.some((alt) => alt.id === t.id)) {
    lines.push(`| ${t.rank} | **${shownToken(t.text)}** \u25C0 actual | ${formatPercent(t.prob)} | |`);
  }
  if (context.panelCommandUri) {
    lines.push('');
    lines.push(`[Show next-word distribution here](${context.panelCommandUri})`);
  }
  return lines.join('\n');
}
