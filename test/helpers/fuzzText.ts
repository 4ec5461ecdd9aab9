/**
 * fast-check generators of hostile document text, for the reliability tests: a document is
 * a sequence of fragments, each drawn from one family of characters that has broken token
 * offsets, tokenizers or Markdown escaping somewhere before.
 */
import fc from 'fast-check';

const fromCodePoints = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));
const oneOfCodes = (codes: readonly number[]) => fc.constantFrom(...codes).map((c) => String.fromCodePoint(c));

const WORDS = ['the', 'The', 'and', 'of', 'function', 'return', 'x', 'Hello', 'world', '42', '3.14', 'don\'t', 'e.g.', 'co-op', 'foo_bar', 'CamelCase'];
const EMOJI_BASES = ['👍', '👋', '🙂', '🦒', '👩', '👨', '🧑', '✋', '💪', '🎉', '❤', '☺'];
const SKIN_TONES = [0x1f3fb, 0x1f3fc, 0x1f3fd, 0x1f3fe, 0x1f3ff];
const ZWJ_SEQUENCES = ['👨‍👩‍👧‍👦', '🏳️‍🌈', '👩🏽‍💻', '🧑‍🤝‍🧑', '👁️‍🗨️', '🏴‍☠️', '❤️‍🔥', '🐻‍❄️'];
const FLAGS = ['🇫🇷', '🇯🇵', '🇺🇸', '🇩🇪', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🇺🇳'];
const ZERO_WIDTH = [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2069, 0xfe0f, 0xfe0e];
/** Literal special-token strings of the test tokenizers (and near misses). */
export const SPECIAL_LITERALS = ['<|endoftext|>', '<s>', '</s>', '<unk>', '<|endoftext', 'endoftext|>', '<|endoftext|><|endoftext|>', ' <s> ', '<<s>>', '<|im_start|>'];

/** One fragment of hostile text. */
export const fragment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS), weight: 6 },
  { arbitrary: fc.constantFrom(' ', '  ', '.', ',', '\n', '\r\n', '\r', '\t', '\t\t', '\n\n', '\r\r\n'), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), weight: 4 },
  // long runs of spaces (indentation, alignment)
  { arbitrary: fc.integer({ min: 2, max: 120 }).map((n) => ' '.repeat(n)), weight: 1 },
  // emoji, with and without skin tones
  { arbitrary: fc.tuple(fc.constantFrom(...EMOJI_BASES), fc.option(oneOfCodes(SKIN_TONES), { nil: '' })).map(([b, t]) => b + t), weight: 2 },
  { arbitrary: oneOfCodes(SKIN_TONES), weight: 1 }, // a skin tone with no base
  { arbitrary: fc.constantFrom(...ZWJ_SEQUENCES), weight: 2 },
  { arbitrary: fc.constantFrom(...FLAGS), weight: 1 },
  { arbitrary: fromCodePoints(0x1f1e6, 0x1f1ff), weight: 1 }, // a lone regional indicator
  // CJK, kana, hangul
  { arbitrary: fc.array(fc.oneof(fromCodePoints(0x4e00, 0x9fff), fromCodePoints(0x3041, 0x30ff), fromCodePoints(0xac00, 0xd7a3)), { minLength: 1, maxLength: 8 }).map((a) => a.join('')), weight: 2 },
  { arbitrary: fromCodePoints(0x20000, 0x2a6df), weight: 1 }, // astral CJK
  // combining marks after a base, stacked, and bare at the start of a fragment
  { arbitrary: fc.tuple(fc.constantFrom('e', 'a', 'o', 'Z', 'n', ' ', '\n', '日', '🙂', ''), fc.array(fromCodePoints(0x0300, 0x036f), { minLength: 1, maxLength: 5 })).map(([b, marks]) => b + marks.join('')), weight: 2 },
  { arbitrary: fc.constantFrom('e\u0301', 'é', 'n\u0303', 'ñ', 'A\u030a', 'Å', 'Å', 'ﬁ', '①', 'ｆｕｌｌ', '\u1100\u1161\u11a8', '각'), weight: 1 },
  // right-to-left scripts and direction overrides
  { arbitrary: fc.array(fc.oneof(fromCodePoints(0x05d0, 0x05ea), fromCodePoints(0x0627, 0x064a), fromCodePoints(0x064b, 0x0652)), { minLength: 1, maxLength: 8 }).map((a) => a.join('')), weight: 2 },
  { arbitrary: oneOfCodes(ZERO_WIDTH), weight: 2 },
  // lone surrogates
  { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), weight: 2 },
  // NUL, C0 and C1 controls, DEL, line/paragraph separators
  { arbitrary: fc.oneof(fromCodePoints(0x00, 0x1f), oneOfCodes([0x7f, 0x85, 0xa0, 0x2028, 0x2029, 0xfffd, 0xfffe, 0xffff]), fromCodePoints(0x80, 0x9f)), weight: 2 },
  { arbitrary: fc.constantFrom(...SPECIAL_LITERALS), weight: 1 },
  // anything at all, one code point (full range, incl. private use and unassigned)
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), weight: 2 },
);

/**
 * A hostile document: up to `maxFragments` fragments. (`size: 'max'`: fast-check's default
 * size would cap arrays at about 10 items whatever `maxLength` says.)
 */
export function hostileDocument(maxFragments = 24): fc.Arbitrary<string> {
  return fc.array(fragment, { minLength: 0, maxLength: maxFragments, size: 'max' }).map((parts) => parts.join(''));
}

/** Checks that ranges tile the text; returns a description of the first violation, or null. */
export function tilingProblem(text: string, starts: Int32Array, ends: Int32Array, tokenCount: number): string | null {
  if (starts.length !== tokenCount || ends.length !== tokenCount) return `column lengths ${starts.length}/${ends.length} for ${tokenCount} tokens`;
  if (text.length === 0) return tokenCount === 0 ? null : `${tokenCount} tokens for an empty text`;
  if (tokenCount === 0) return 'no tokens for a non-empty text';
  if (starts[0] !== 0) return `first token starts at ${starts[0]}`;
  if (ends[tokenCount - 1] !== text.length) return `last token ends at ${ends[tokenCount - 1]}, text length ${text.length}`;
  for (let i = 0; i < tokenCount; i++) {
    if (starts[i]! > ends[i]!) return `token ${i} range [${starts[i]}, ${ends[i]}) is reversed`;
    if (i > 0 && starts[i] !== ends[i - 1]) return `token ${i} starts at ${starts[i]} but token ${i - 1} ends at ${ends[i - 1]}`;
  }
  return null;
}

/** A deterministic pseudo-random generator (mulberry32), for fixed workloads. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const utf8Encoder = new TextEncoder();
const METASPACE = utf8Encoder.encode('\u2581');

export interface ContentCheck {
  /** The tokenizer's normalisation of a piece of text, as the token bytes spell it. */
  readonly normalize: (text: string) => string;
  /** The tokenizer may add a `▁` that stands for no text: at the start, and after a special token. */
  readonly mayPrependMetaspace: boolean;
  /** What it prepends, when not `▁` (a byte-level tokenizer's prefix space). */
  readonly prefix?: string;
  /** Ids of added (special) tokens. */
  readonly specialIds?: ReadonlySet<number>;
  /**
   * The tokenizer normalises combining sequences (NFC): the alignment keeps a base character
   * with its marks, so where a token ends between them its range is rounded down to the start
   * of the sequence and the next token takes the whole sequence. Such a token is checked
   * together with the next one, and must spell its own text plus the start of the sequence.
   */
  readonly combiningSequences?: boolean;
}

/**
 * Checks that every token's range holds exactly the text its bytes spell. Tokens holding
 * only the leading bytes of a character have empty ranges: their bytes are checked together
 * with the token that completes the character. Returns the first violation, or null.
 */
export function contentProblem(
  text: string,
  ids: Int32Array,
  starts: Int32Array,
  ends: Int32Array,
  pieceBytes: (id: number) => Uint8Array,
  check: ContentCheck,
): string | null {
  let group: number[] = [];
  let carry: number[] = [];
  let groupStart = 0;
  let mayPrepend = check.mayPrependMetaspace;
  const prefix = check.prefix === undefined ? METASPACE : utf8Encoder.encode(check.prefix);
  for (let i = 0; i < ids.length; i++) {
    if (group.length === 0) {
      groupStart = i;
      group = carry;
      carry = [];
    }
    group.push(...pieceBytes(ids[i]!));
    if (starts[i] === ends[i] && i < ids.length - 1) continue;
    const slice = text.slice(starts[groupStart], ends[i]);
    const want = utf8Encoder.encode(check.normalize(slice));
    let got = Uint8Array.from(group);
    if (mayPrepend && !equalBytes(got, want) && equalBytes(got.subarray(0, prefix.length), prefix)) got = got.subarray(prefix.length);
    if (!equalBytes(got, want) && i < ids.length - 1 && got.length > want.length && equalBytes(got.subarray(0, want.length), want)) {
      // The token ends inside a character (it holds the first bytes of the next one: a
      // partial character is given to the token that completes it), or, under NFC, between a
      // base character and its marks (rounded down to the start of the sequence). Its extra
      // bytes must begin the text that follows, and are checked with the next token.
      const rest = got.subarray(want.length);
      const following = utf8Encoder.encode(check.normalize(text.slice(ends[i], ends[i] + 32)));
      if (equalBytes(following.subarray(0, rest.length), rest) && (check.combiningSequences || !isCompleteUtf8(rest))) {
        carry = Array.from(rest);
        group = [];
        mayPrepend = false;
        continue;
      }
    }
    if (!equalBytes(got, want)) {
      const shown = (b: Uint8Array) => JSON.stringify(new TextDecoder().decode(b));
      return `tokens ${groupStart}..${i} spell ${shown(got)} but cover ${JSON.stringify(slice)} [${starts[i]}, ${ends[i]})`;
    }
    mayPrepend = check.mayPrependMetaspace && check.specialIds !== undefined && check.specialIds.has(ids[i]!);
    group = [];
  }
  return null;
}

/** Whether the bytes are whole UTF-8 characters (not the start of one). */
function isCompleteUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
