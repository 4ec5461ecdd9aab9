/**
 * The next-word distribution at a cursor: which whole WORDS the model expects next, with
 * honest probabilities, rather than subword tokens.
 *
 * A word is a first token followed by "continuation" tokens (tokens that do not start with
 * whitespace, punctuation or a symbol), and it ends where the next token is not a
 * continuation (whitespace, punctuation, newline, end of text). A word whose text ends in
 * whitespace (a newline, an indent) is complete whatever follows. Its probability is
 *
 *   P(w | ctx) = P(tokens of w | ctx) x P(next token is not a continuation | ctx, w)
 *
 * the beginning-of-word correction of Pimentel & Meister (2024, "How to Compute the
 * Probability of a Word") and Oh & Schuler (2024) for tokenizers whose tokens carry their
 * leading whitespace (GPT-2's `Ġ`, SentencePiece's `▁`): without the second factor the
 * prefix "hel" would be counted as a word while "hello" is what the model means. The events
 * "w, then a non-continuation token" are disjoint for different token sequences, so the
 * listed probabilities sum to at most 1. Different tokenizations of the same text are
 * summed.
 *
 * The search is best-first over word prefixes (a beam whose width adapts to the
 * distribution): the most probable unfinished prefix is run through the model next, reusing
 * its parent's key/value cache via `LanguageModel.step`. A prefix's probability bounds every
 * word through it, so the search stops as soon as no open prefix can beat the last listed
 * word (`exact` is then true), or when the step budget `beamWidth x maxTokensPerWord` is
 * spent. At most `1 + beamWidth x maxTokensPerWord` model steps are run. Only a few
 * prefixes keep their key/value cache at once (`maxLiveStates`); a dropped one is re-run
 * from the context's cache if it is needed again (counted as a step).
 *
 * When the cursor follows part of a word ("The quick bro|"), or a space, the search backs off
 * to the start of that word (conditioning on "The quick") and keeps only words that begin
 * with the typed part (" bro"), so the tokenization at the cursor never cuts a word in an
 * unnatural place (the prompt-boundary problem). Probabilities are then conditioned on the
 * typed part: P(w | ctx, w starts with " bro") = P(w | ctx) / P(" bro..." | ctx), the
 * denominator summed over every tokenization of the typed part the search met (a lower
 * bound, so listed values may slightly overstate, but still sum to at most 1).
 *
 * Pure Node (no `vscode`): used by the worker and tested directly.
 */
import type { ContinuationState, LanguageModel } from './engine';
import { CancelledError, type Cancellation, type NextWord, type NextWordDistribution, type NextWordOptions } from './types';




export const DEFAULT_MAX_WORDS = 15;
export const DEFAULT_BEAM_WIDTH = 8;
export const DEFAULT_MAX_TOKENS_PER_WORD = 4;
export const DEFAULT_MAX_LIVE_STATES = 8;

/** Token classes. */
const CONTINUATION = 0;
const BOUNDARY = 1;
/** Special (end of text, padding, control) tokens: end a word, never listed. */
const SPECIAL = 2;

interface Vocab {
  /** The text bytes of each token, SentencePiece's `▁` written as a space. */
  readonly bytes: readonly Uint8Array[];
  readonly cls: Uint8Array;
  /** Ids of continuation tokens, for fast sums. */
  readonly continuationIds: Int32Array;
}

const vocabCache = new WeakMap<LanguageModel, Vocab>();
const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const SPECIAL_TEXT = /^(?:<\|[^|<>]*\|>|<\/?s>|<(?:unk|pad|mask|eos|bos|cls|sep)>|\[(?:UNK|PAD|CLS|SEP|MASK)\])$/i;
const NON_WORD_START = /^[\s\p{P}\p{S}]/u;

function vocabOf(model: LanguageModel): Vocab {
  const cached = vocabCache.get(model);
  if (cached) return cached;
  const tokenizer = model.tokenizer;
  const width = Math.max(model.info.vocabSize, tokenizer.vocabSize);
  // SentencePiece writes spaces as U+2581; detect it from how a space is encoded.
  const probe = Array.from(tokenizer.encode('a b').ids, (id) => tokenizer.pieceBytes(id));
  const metaspace = probe.some((b) => indexOfMetaspace(b) >= 0) && !probe.some((b) => b.includes(0x20));
  const bytes: Uint8Array[] = [];
  const cls = new Uint8Array(width).fill(SPECIAL);
  const continuation: number[] = [];
  for (let id = 0; id < width; id++) {
    if (id >= tokenizer.vocabSize) {
      bytes.push(new Uint8Array(0));
      continue;
    }
    let b = tokenizer.pieceBytes(id);
    if (metaspace) b = replaceMetaspace(b);
    bytes.push(b);
    const special = id === model.info.bosTokenId || b.length === 0 || isControl(b[0]!) || SPECIAL_TEXT.test(tokenizer.displayText(id));
    cls[id] = special ? SPECIAL : startsWord(b) ? BOUNDARY : CONTINUATION;
    if (cls[id] === CONTINUATION) continuation.push(id);
  }
  const vocab: Vocab = { bytes, cls, continuationIds: Int32Array.from(continuation) };
  vocabCache.set(model, vocab);
  return vocab;
}

/** Control characters other than tab and line breaks: they end a word but are never offered. */
function isControl(byte: number): boolean {
  return (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte === 0x7f;
}

function indexOfMetaspace(b: Uint8Array, from = 0): number {
  for (let i = from; i + 2 < b.length; i++) if (b[i] === 0xe2 && b[i + 1] === 0x96 && b[i + 2] === 0x81) return i;
  return -1;
}

function replaceMetaspace(b: Uint8Array): Uint8Array {
  if (indexOfMetaspace(b) < 0) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0xe2 && b[i + 1] === 0x96 && b[i + 2] === 0x81) {
      out.push(0x20);
      i += 2;
    } else out.push(b[i]!);
  }
  return Uint8Array.from(out);
}

/** Whether a token's text begins with whitespace, punctuation, a symbol or a control character ('_' excepted). */
function startsWord(b: Uint8Array): boolean {
  const first = b[0]!;
  if (first < 0x80) {
    if (first === 0x5f) return false; // '_' joins identifiers
    if (first <= 0x20 || first === 0x7f) return true;
    return !((first >= 0x30 && first <= 0x39) || (first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a));
  }
  const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 0;
  if (length === 0 || b.length < length) return false; // a fragment of a character: assume a letter
  try {
    return NON_WORD_START.test(utf8Strict.decode(b.subarray(0, length)));
  } catch {
    return false;
  }
}

/** A character that can continue a word (what a continuation token starts with). */
function isWordChar(ch: string): boolean {
  return ch === '_' || !NON_WORD_START.test(ch);
}

/**
 * Splits the text before the cursor into what is conditioned on and the typed part of the
 * current word: the trailing word characters plus the one space or tab before them, or just
 * a trailing space or tab.
 */
export function splitAtWord(context: string): { before: string; partial: string; midWord: boolean } {
  let start = context.length;
  while (start > 0) {
    const code = context.charCodeAt(start - 1);
    const width = code >= 0xdc00 && code <= 0xdfff && start >= 2 ? 2 : 1;
    if (!isWordChar(context.slice(start - width, start))) break;
    start -= width;
  }
  const midWord = start < context.length;
  if (start > 0 && (context[start - 1] === ' ' || context[start - 1] === '\t')) start--;
  return { before: context.slice(0, start), partial: context.slice(start), midWord };
}

/** The last few words of a text, for showing what was conditioned on ('…' marks a cut). */
export function tailWords(text: string, maxWords = 8, maxChars = 80): string {
  let tail = text.length > maxChars ? text.slice(text.length - maxChars) : text;
  if (tail.length < text.length) {
    // Do not start in the middle of a word.
    const firstSpace = tail.search(/\s/);
    if (firstSpace > 0 && firstSpace < tail.length - 1) tail = tail.slice(firstSpace);
  }
  const parts = tail.split(/(?<=\S)(?=\s)/);
  if (parts.length > maxWords) tail = parts.slice(parts.length - maxWords).join('');
  return tail.length < text.length ? `…${tail}` : tail;
}

interface Node {
  readonly parent: Node | null;
  readonly token: number;
  readonly depth: number;
  /** ln P(token sequence | context). */
  readonly logp: number;
  /** Bytes of the word so far (typed part included). */
  readonly bytes: Uint8Array;
  /** Whether the bytes cover the whole typed part. */
  readonly covered: boolean;
  state: ContinuationState | null;
  /** Children pushed but not yet run or pruned; the state is dropped at 0. */
  openChildren: number;
}

interface WordEntry {
  prob: number;
  bestPath: number;
  tokens: number[];
  bytes: Uint8Array;
}

/** Max-heap on logp. */
class Frontier {
  private readonly items: Node[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Node | undefined {
    return this.items[0];
  }
  push(node: Node): void {
    const a = this.items;
    a.push(node);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.logp >= a[i]!.logp) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Node | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.logp > a[m]!.logp) m = l;
        if (r < a.length && a[r]!.logp > a[m]!.logp) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

function check(cancellation: Cancellation | undefined): void {
  if (cancellation?.isCancelled) throw new CancelledError();
}

function entropyBits(logprobs: Float32Array): number {
  let h = 0;
  for (let i = 0; i < logprobs.length; i++) {
    const lp = logprobs[i]!;
    if (lp > -Infinity) h -= Math.exp(lp) * lp;
  }
  return Math.max(0, h) / Math.LN2;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function endsInWhitespace(bytes: Uint8Array): boolean {
  const last = bytes[bytes.length - 1];
  return last === 0x20 || last === 0x09 || last === 0x0a || last === 0x0d || last === 0x0b || last === 0x0c;
}

/** 0: inconsistent; 1: consistent, typed part not yet covered; 2: covers it. */
function matchTyped(typed: Uint8Array, offset: number, token: Uint8Array): 0 | 1 | 2 {
  const remaining = typed.length - offset;
  const n = Math.min(remaining, token.length);
  if (n === 0) return 0;
  for (let i = 0; i < n; i++) if (typed[offset + i] !== token[i]) return 0;
  return token.length >= remaining ? 2 : 1;
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The most likely next words (or tokens) after `context`, the text before the cursor. */
export async function nextWordDistribution(
  model: LanguageModel,
  context: string,
  options: NextWordOptions = {},
  cancellation?: Cancellation,
): Promise<NextWordDistribution> {
  check(cancellation);
  const maxWords = Math.max(1, Math.floor(options.maxWords ?? DEFAULT_MAX_WORDS));
  if (options.rawTokens) return nextTokenList(model, context, maxWords, cancellation);

  const { before, partial, midWord } = options.afterWord ? { before: context, partial: '', midWord: false } : splitAtWord(context);
  const maxTokensPerWord = Math.max(1, Math.floor(options.maxTokensPerWord ?? DEFAULT_MAX_TOKENS_PER_WORD));
  // The typed part may take a few tokens of its own before the word's new tokens start.
  const typedTokens = partial === '' ? 0 : model.tokenizer.encode(partial).ids.length;
  const depthLimit = maxTokensPerWord + Math.max(0, typedTokens - 1);
  const bos = model.info.bosTokenId;
  const room = Math.max(1, model.info.windowSize - (bos === null ? 0 : 1) - depthLimit);
  // Only the window is conditioned on; one token more tells whether the context was cut.
  const beforeIds = model.tokenizer.encodeTail(before, room + 1).ids;
  const ids = Array.from(beforeIds.subarray(Math.max(0, beforeIds.length - room)));
  const base = { contextTail: tailWords(context), mode: 'words' as const, partial, midWord, contextTokens: ids.length, truncated: beforeIds.length > ids.length };
  if (ids.length === 0 && bos === null) {
    // Nothing to condition on (no BOS token and an empty context).
    return { ...base, words: [], entropyBits: NaN, endsHereProb: 0, partialProb: 0, exact: false, steps: 0 };
  }
  const search = new WordSearch(model, encoder.encode(partial), {
    maxWords,
    depthLimit,
    budget: Math.max(1, Math.floor(options.beamWidth ?? DEFAULT_BEAM_WIDTH)) * maxTokensPerWord,
    maxLive: Math.max(1, Math.floor(options.maxLiveStates ?? DEFAULT_MAX_LIVE_STATES)),
    afterWord: options.afterWord === true,
  }, cancellation);
  const result = await search.run(ids);
  return { ...base, ...result };
}

/** Raw-token mode: the next tokens exactly as `LanguageModel.predictNext` ranks them. */
async function nextTokenList(model: LanguageModel, context: string, maxWords: number, cancellation: Cancellation | undefined): Promise<NextWordDistribution> {
  const next = await model.predictNext(context, maxWords);
  check(cancellation);
  const tokenizer = model.tokenizer;
  const words = next.candidates.map((c) => {
    const special = c.id === model.info.bosTokenId || SPECIAL_TEXT.test(c.text);
    const completion = special ? '' : (decodeStrict(tokenizer.pieceBytes(c.id)) ?? '');
    return { text: c.text, completion, prob: c.prob, tokens: [c.id] };
  });
  const room = model.info.bosTokenId === null ? model.info.windowSize : model.info.windowSize - 1;
  // One token more than the window tells whether the context was cut.
  const contextIds = tokenizer.encodeTail(context, room + 1).ids.length;
  return tokenListDistribution(words, next.entropyBits, context, Math.min(contextIds, room), contextIds > room);
}

/** A raw-token list as a next-word distribution (tokens mode: one step, nothing typed, exact). */
export function tokenListDistribution(words: NextWord[], entropyBits: number, context: string, contextTokens: number, truncated: boolean): NextWordDistribution {
  return { words, entropyBits, contextTail: tailWords(context), mode: 'tokens', partial: '', midWord: false, endsHereProb: 0, partialProb: 1, exact: true, steps: 1, contextTokens, truncated };
}

interface SearchLimits {
  readonly maxWords: number;
  /** The longest word searched, in tokens (the typed part's included). */
  readonly depthLimit: number;
  /** Model steps allowed after the context's. */
  readonly budget: number;
  /** Prefixes whose key/value cache is kept at a time. */
  readonly maxLive: number;
  /** The context ends with a whole word: the first token must start a new one (see `NextWordOptions.afterWord`). */
  readonly afterWord: boolean;
}

type SearchResult = Pick<NextWordDistribution, 'words' | 'entropyBits' | 'endsHereProb' | 'partialProb' | 'exact' | 'steps'>;

/**
 * Best-first search over token continuations of the context for whole words: the most
 * probable prefix is run next, a word is recorded with the probability that the token
 * after it starts a new word, and the search stops once no open prefix can place a word in
 * the list (exact) or the step budget is spent.
 */
class WordSearch {
  private readonly vocab: Vocab;
  private readonly root: Node;
  /** Prefixes (not the root) holding a cache that children still need. */
  private readonly live = new Set<Node>();
  private readonly found = new Map<string, WordEntry>();
  private readonly frontier = new Frontier();
  private steps = 0;
  /** P(the typed part | context), summed over the tokenizations found. */
  private partialMass: number;
  /** The k-th best listable word's probability: no prefix below it can place a word in the list. */
  private threshold = 0;
  /** ln P of the best child left out for lack of budget. */
  private droppedBest = -Infinity;

  constructor(
    private readonly model: LanguageModel,
    private readonly typed: Uint8Array,
    private readonly limits: SearchLimits,
    private readonly cancellation: Cancellation | undefined,
  ) {
    this.vocab = vocabOf(model);
    this.root = { parent: null, token: -1, depth: 0, logp: 0, bytes: new Uint8Array(0), covered: typed.length === 0, state: null, openChildren: 0 };
    this.partialMass = typed.length === 0 ? 1 : 0;
  }

  async run(contextIds: number[]): Promise<SearchResult> {
    const root = this.root;
    root.state = await this.model.step(null, contextIds);
    check(this.cancellation);
    this.steps = 1;
    const entropy = entropyBits(root.state.nextLogprobs);
    if (this.limits.afterWord) {
      // Condition on the last word having ended: P(w | ctx, next token starts a word).
      let continuing = 0;
      for (const id of this.vocab.continuationIds) if (id < root.state.nextLogprobs.length) continuing += Math.exp(root.state.nextLogprobs[id]!);
      this.partialMass = Math.max(0, 1 - continuing);
    }
    this.expand(root);
    const budgetSpent = await this.searchFrontier();
    // Remaining open prefixes (and children left out for lack of budget) bound every unlisted word.
    const openBest = Math.max(this.frontier.peek()?.logp ?? -Infinity, this.droppedBest);
    const exact = !budgetSpent && (openBest === -Infinity || (this.threshold > 0 && openBest <= Math.log(this.threshold)));
    return { ...this.rankedWords(), entropyBits: entropy, partialProb: Math.min(1, this.partialMass), exact, steps: this.steps };
  }

  /** Runs prefixes best first; true when it stopped because the step budget was spent. */
  private async searchFrontier(): Promise<boolean> {
    const { frontier, vocab, limits } = this;
    while (frontier.size > 0) {
      const top = frontier.peek()!;
      if (this.threshold > 0 && !(top.logp > Math.log(this.threshold))) return false;
      const parent = top.parent!;
      const rerun = parent.state === null;
      if (this.steps + (rerun ? 2 : 1) > 1 + limits.budget) return true;
      frontier.pop();
      if (rerun) {
        // The parent's cache was dropped: run its tokens again after the context.
        parent.state = await this.model.step(this.root.state!, pathTokens(parent).slice());
        check(this.cancellation);
        this.steps++;
        this.live.add(parent);
      }
      top.state = await this.model.step(parent.state, [top.token]);
      check(this.cancellation);
      this.steps++;
      this.release(parent);
      const lp = top.state.nextLogprobs;
      if (top.covered) {
        // The word ends here with the probability that the next token starts a new one.
        let continuing = 0;
        for (const id of vocab.continuationIds) if (id < lp.length) continuing += Math.exp(lp[id]!);
        this.record(top, Math.exp(top.logp) * Math.max(0, 1 - continuing));
      }
      if (top.depth < limits.depthLimit) this.expand(top);
      else top.state = null;
    }
    return false;
  }

  private listable(entry: WordEntry): boolean {
    return entry.bytes.length > this.typed.length && decodeStrict(entry.bytes) !== undefined;
  }

  private updateThreshold(): void {
    const probs: number[] = [];
    for (const entry of this.found.values()) if (this.listable(entry)) probs.push(entry.prob);
    if (probs.length < this.limits.maxWords) return;
    probs.sort((a, b) => b - a);
    this.threshold = probs[this.limits.maxWords - 1]!;
  }

  private record(node: Node, prob: number): void {
    if (!(prob > 0)) return;
    const key = utf8.decode(node.bytes);
    const entry = this.found.get(key);
    if (!entry) {
      this.found.set(key, { prob, bestPath: prob, tokens: pathTokens(node), bytes: node.bytes });
    } else {
      entry.prob += prob;
      if (prob > entry.bestPath) {
        entry.bestPath = prob;
        entry.tokens = pathTokens(node);
      }
    }
    this.updateThreshold();
  }

  /** Pushes the children of a prefix worth running (within the budget) onto the frontier. */
  private expand(node: Node): void {
    const { vocab, typed } = this;
    const lp = node.state!.nextLogprobs;
    const width = Math.min(lp.length, vocab.cls.length);
    const children: Node[] = [];
    const consumed = node.bytes.length;
    const logThreshold = this.threshold > 0 ? Math.log(this.threshold) : -Infinity;
    const consider = (id: number) => {
      const logp = node.logp + lp[id]!;
      const token = vocab.bytes[id]!;
      let covered = node.covered;
      if (!covered) {
        const match = matchTyped(typed, consumed, token);
        if (match === 0) return;
        if (match === 2) {
          covered = true;
          this.partialMass += Math.exp(logp);
        }
      }
      const whitespaceEnd = covered && endsInWhitespace(token);
      if (!whitespaceEnd && !(logp > logThreshold)) return;
      const child: Node = { parent: node, token: id, depth: node.depth + 1, logp, bytes: concat(node.bytes, token), covered, state: null, openChildren: 0 };
      // A word that ends in whitespace (a newline, an indent) is complete whatever follows:
      // no model step is needed for it.
      if (whitespaceEnd) this.record(child, Math.exp(logp));
      else children.push(child);
    };
    if (node.depth === 0 || !node.covered) {
      // A word's first token may be of any class; inside the typed part, any token that fits it.
      const firstClassOnly = node.depth === 0 && this.limits.afterWord;
      for (let id = 0; id < width; id++) if (vocab.cls[id] !== SPECIAL && !(firstClassOnly && vocab.cls[id] === CONTINUATION)) consider(id);
    } else {
      for (const id of vocab.continuationIds) if (id < width) consider(id);
    }
    // Only as many prefixes as steps are left can ever be run.
    const room = Math.max(0, 1 + this.limits.budget - this.steps);
    if (children.length > room) {
      children.sort((a, b) => b.logp - a.logp);
      this.droppedBest = Math.max(this.droppedBest, children[room]!.logp);
      children.length = room;
    }
    for (const child of children) this.frontier.push(child);
    node.openChildren = children.length;
    if (node === this.root) return; // the context's cache is kept to the end
    if (children.length === 0) {
      node.state = null;
      return;
    }
    this.live.add(node);
    // Over the cap, drop the cache of the least probable prefix: its children are the
    // least likely to be run.
    while (this.live.size > this.limits.maxLive) {
      let worst: Node | undefined;
      for (const n of this.live) if (!worst || n.logp < worst.logp) worst = n;
      worst!.state = null;
      this.live.delete(worst!);
    }
  }

  private release(node: Node): void {
    if (--node.openChildren === 0 && node !== this.root) {
      node.state = null;
      this.live.delete(node);
    }
  }

  /** The listed words, normalised by P(typed part), best first, their total kept at most 1. */
  private rankedWords(): Pick<SearchResult, 'words' | 'endsHereProb'> {
    const typedLength = this.typed.length;
    const norm = typedLength === 0 && !this.limits.afterWord ? 1 : this.partialMass;
    let endsHere = 0;
    for (const entry of this.found.values()) if (entry.bytes.length === typedLength) endsHere += entry.prob;
    const ranked = [...this.found.values()].filter((entry) => this.listable(entry)).sort((a, b) => b.prob - a.prob).slice(0, this.limits.maxWords);
    let total = 0;
    const words: NextWord[] = ranked.map((entry) => {
      const prob = norm > 0 ? entry.prob / norm : 0;
      total += prob;
      return { text: utf8.decode(entry.bytes), completion: utf8.decode(entry.bytes.subarray(typedLength)), prob, tokens: entry.tokens };
    });
    const endsHereProb = norm > 0 ? Math.min(1, endsHere / norm) : 0;
    // Guard the "at most 1" guarantee against rounding.
    if (total + endsHereProb > 1) {
      const scale = 1 / (total + endsHereProb);
      for (let i = 0; i < words.length; i++) words[i] = { ...words[i]!, prob: words[i]!.prob * scale };
    }
    return { words, endsHereProb };
  }
}

function pathTokens(node: Node): number[] {
  const tokens: number[] = [];
  for (let n: Node | null = node; n && n.token >= 0; n = n.parent) tokens.push(n.token);
  return tokens.reverse();
}
