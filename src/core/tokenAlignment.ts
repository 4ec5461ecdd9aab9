/**
 * Maps tokens back onto the exact UTF-16 ranges of the original text.
 *
 * `@huggingface/tokenizers` returns token pieces but no offsets, so we rebuild them: every
 * token piece is turned into the bytes it stands for (byte-level alphabet, `<0xNN>` byte
 * fallback, or its literal text), and that byte stream is walked side by side with the
 * original text, one "unit" at a time. A unit is one code point (a lone surrogate counts as
 * one, encoded like TextEncoder does, as U+FFFD), or a base character with its combining
 * marks when the tokenizer's normalizer composes or decomposes them. Each unit is passed
 * through the position-independent part of the tokenizer's normalization, so what we look
 * for in the token stream is exactly what the tokenizer saw.
 *
 * Reporting rule for characters split across tokens (an emoji whose four UTF-8 bytes land
 * in two byte-level tokens): the character belongs to the token that completes it, i.e.
 * holds its last byte. A token made only of the leading bytes of a character gets an empty
 * range `[s, s)` at that character's start. This keeps ranges in order, non-overlapping and
 * tiling the text exactly, and it puts the colour of a character on the token whose
 * probability finally decided it.
 *
 * Text the tokenizer dropped (whitespace stripped around special tokens, say) is given to
 * the token before it; bytes the tokenizer added (a prepended `▁`) take no text at all.
 */

export interface TokenRanges {
  /** UTF-16 start offset of each token in the original text. */
  readonly starts: Int32Array;
  /** UTF-16 end offset (exclusive) of each token; `ends[i] === starts[i + 1]`. */
  readonly ends: Int32Array;
  /**
   * False when the token stream could not be matched to the text everywhere and part of
   * the ranges was apportioned by position instead (never seen with supported tokenizers;
   * kept so a surprise is visible rather than an exception).
   */
  readonly exact: boolean;
}

/** Text normalisation applied to one unit of text, independent of its position. */
export type UnitNormalizer = (unit: string) => string;

const encoder = new TextEncoder();
/** Units that must match after a resynchronisation for it to be taken without doubt. */
const LOOK_AHEAD = 4;

/** Splits text into alignment units: code points, optionally with their combining marks. */
export function splitUnits(text: string, groupCombiningMarks: boolean): string[] {
  if (!groupCombiningMarks) return Array.from(text);
  // Hangul medial vowels and final consonants (conjoining jamo) compose with what precedes
  // them under NFC/NFKC just like combining marks, though Unicode does not class them as marks.
  return text.match(/[^\p{M}\u1160-\u11FF\uD7B0-\uD7FF][\p{M}\u1160-\u11FF\uD7B0-\uD7FF]*|[\p{M}\u1160-\u11FF\uD7B0-\uD7FF]+/gsu) ?? [];
}

/**
 * Computes the character range of every token.
 *
 * @param text the original document text
 * @param tokenBytes the bytes each token stands for, in order
 * @param normalizeUnit the tokenizer's per-unit normalisation (identity when it has none)
 * @param groupCombiningMarks whether combining marks must stay with their base character
 * @param insertedPrefix what the tokenizer may put before the text (a SentencePiece `▁`, a
 *   byte-level prefix space), standing for no text
 * @param prefixAfter indices of tokens after which the prefix may be added again (special
 *   tokens: a Prepend normalizer prepends to every stretch of text between them)
 */
export function alignTokens(
  text: string,
  tokenBytes: readonly Uint8Array[],
  normalizeUnit: UnitNormalizer | null,
  groupCombiningMarks: boolean,
  insertedPrefix: Uint8Array | null = null,
  prefixAfter: ReadonlySet<number> | null = null,
): TokenRanges {
  if (tokenBytes.length === 0) return { starts: new Int32Array(0), ends: new Int32Array(0), exact: text.length === 0 };
  const aligner = new Aligner(text, tokenBytes, normalizeUnit, groupCombiningMarks);
  const exact = aligner.walk(insertedPrefix, prefixAfter);
  return aligner.ranges(exact);
}

/**
 * One alignment: the concatenated token byte stream walked against the text's units.
 * `charAtByte[b]` is the UTF-16 offset byte b of the stream maps to (rounded down to the
 * start of the unit containing it), filled while walking.
 */
class Aligner {
  private readonly tokenCount: number;
  /** Each token's byte offset in the stream (and the stream's length at the end). */
  private readonly tokenByteStart: Int32Array;
  private readonly stream: Uint8Array;
  private readonly streamLength: number;
  private readonly charAtByte: Int32Array;
  private readonly units: string[];
  private readonly expectedCache = new Map<string, Uint8Array>();
  private byte = 0;
  private charOffset = 0;
  private unitIndex = 0;

  constructor(
    private readonly text: string,
    tokenBytes: readonly Uint8Array[],
    private readonly normalizeUnit: UnitNormalizer | null,
    groupCombiningMarks: boolean,
  ) {
    this.tokenCount = tokenBytes.length;
    this.tokenByteStart = new Int32Array(this.tokenCount + 1);
    let streamLength = 0;
    for (let i = 0; i < this.tokenCount; i++) {
      this.tokenByteStart[i] = streamLength;
      streamLength += tokenBytes[i]!.length;
    }
    this.tokenByteStart[this.tokenCount] = streamLength;
    this.streamLength = streamLength;
    this.stream = new Uint8Array(streamLength);
    for (let i = 0; i < this.tokenCount; i++) this.stream.set(tokenBytes[i]!, this.tokenByteStart[i]!);
    this.charAtByte = new Int32Array(streamLength + 1);
    this.units = splitUnits(text, groupCombiningMarks);
  }

  /** Walks the stream against the text; false when part of it had to be apportioned by position. */
  walk(insertedPrefix: Uint8Array | null, prefixAfter: ReadonlySet<number> | null): boolean {
    const { units, streamLength } = this;
    const prefixPositions = new Set<number>();
    if (insertedPrefix && insertedPrefix.length > 0) {
      prefixPositions.add(0);
      for (const i of prefixAfter ?? []) if (i + 1 < this.tokenCount) prefixPositions.add(this.tokenByteStart[i + 1]!);
    }
    let exact = true;
    while (this.unitIndex < units.length && this.byte < streamLength) {
      if (insertedPrefix && prefixPositions.delete(this.byte)) {
        this.skipInsertedPrefix(insertedPrefix);
        if (this.byte >= streamLength) break;
      }
      const want = this.expectedOf(this.unitIndex);
      if (want.length === 0) {
        this.advanceUnits(1); // normalised away: its text joins the token before it
        continue;
      }
      if (this.matchesAt(want, this.byte)) {
        this.mapBytes(want.length);
        this.advanceUnits(1);
        continue;
      }
      // Resynchronise: skip a few stream bytes (added by the tokenizer) and/or a few units
      // (dropped by it), preferring the smallest skip.
      const resync = this.findResync(this.byte, this.unitIndex);
      if (resync) {
        this.mapBytes(resync.skipBytes);
        this.advanceUnits(resync.skipUnits);
        continue;
      }
      exact = false;
      break;
    }
    if (this.byte < streamLength) this.apportionTail();
    // Text left after the last token (dropped by the tokenizer) goes to the last token.
    this.charAtByte[streamLength] = this.text.length;
    return exact;
  }

  /**
   * Tokens tile the text: each ends where the next starts. The round-down rule and the
   * skips keep offsets monotone; clamping guards the apportioned tail.
   */
  ranges(exact: boolean): TokenRanges {
    const starts = new Int32Array(this.tokenCount);
    const ends = new Int32Array(this.tokenCount);
    for (let i = 0; i < this.tokenCount; i++) {
      const start = i === 0 ? 0 : this.charAtByte[this.tokenByteStart[i]!]!;
      starts[i] = i === 0 ? 0 : Math.max(start, starts[i - 1]!);
    }
    for (let i = 0; i < this.tokenCount; i++) ends[i] = i + 1 < this.tokenCount ? starts[i + 1]! : this.text.length;
    return { starts, ends, exact };
  }

  /** The next `count` stream bytes map to the current unit's start. */
  private mapBytes(count: number): void {
    for (let j = 0; j < count; j++) this.charAtByte[this.byte + j] = this.charOffset;
    this.byte += count;
  }

  private advanceUnits(count: number): void {
    for (let k = 0; k < count; k++) this.charOffset += this.units[this.unitIndex + k]!.length;
    this.unitIndex += count;
  }

  private matchesAt(bytes: Uint8Array, at: number): boolean {
    if (at + bytes.length > this.streamLength) return false;
    for (let j = 0; j < bytes.length; j++) if (this.stream[at + j] !== bytes[j]) return false;
    return true;
  }

  /** The bytes the tokenizer sees for unit `k` (after its per-unit normalisation). */
  private expectedOf(k: number): Uint8Array {
    const unit = this.units[k]!;
    let bytes = this.expectedCache.get(unit);
    if (!bytes) {
      bytes = encoder.encode(this.normalizeUnit ? this.normalizeUnit(unit) : unit);
      if (this.expectedCache.size < 65536) this.expectedCache.set(unit, bytes);
    }
    return bytes;
  }

  /**
   * A prefix the tokenizer added reads like the text's own leading spaces ("  x" becomes
   * "▁▁▁x"): when the stream has more copies of it here than the text accounts for, the
   * first copy is the inserted one and takes no text.
   */
  private skipInsertedPrefix(prefix: Uint8Array): void {
    let inStream = 0;
    while (this.matchesAt(prefix, this.byte + inStream * prefix.length)) inStream++;
    let inText = 0;
    while (this.unitIndex + inText < this.units.length && sameBytes(this.expectedOf(this.unitIndex + inText), prefix)) inText++;
    if (inStream > inText) this.mapBytes(prefix.length);
  }

  private findResync(atByte: number, atUnit: number): { skipBytes: number; skipUnits: number } | null {
    const { units } = this;
    const maxSkip = 8;
    // The smallest skip after which the text and the stream go on agreeing for a few units;
    // failing that, the skip after which they agree longest (the smallest among equals).
    // Without the look-ahead a SentencePiece text like "a b" matched its space to the
    // prepended `▁` (skipping "a"), and every range after it was shifted.
    let best: { skipBytes: number; skipUnits: number } | null = null;
    let bestAgreement = -1;
    for (let total = 1; total <= maxSkip * 2; total++) {
      for (let skipUnits = 0; skipUnits <= Math.min(total, maxSkip); skipUnits++) {
        const skipBytes = total - skipUnits;
        if (skipBytes > maxSkip || atUnit + skipUnits >= units.length) continue;
        const next = this.expectedOf(atUnit + skipUnits);
        if (next.length > 0 && this.matchesAt(next, atByte + skipBytes)) {
          const agreement = this.agreementAfter(atByte + skipBytes + next.length, atUnit + skipUnits + 1);
          if (agreement >= LOOK_AHEAD) return { skipBytes, skipUnits };
          if (agreement > bestAgreement) {
            best = { skipBytes, skipUnits };
            bestAgreement = agreement;
          }
        }
      }
    }
    // Whitespace the tokenizer stripped (around a special token with lstrip/rstrip) can be a
    // longer run than maxSkip: the whole run may be skipped too.
    let run = 0;
    while (atUnit + run < units.length && /^\s+$/u.test(units[atUnit + run]!)) run++;
    if (run > maxSkip && atUnit + run < units.length) {
      const next = this.expectedOf(atUnit + run);
      for (let skipBytes = 0; skipBytes <= maxSkip && next.length > 0; skipBytes++) {
        if (!this.matchesAt(next, atByte + skipBytes)) continue;
        const agreement = this.agreementAfter(atByte + skipBytes + next.length, atUnit + run + 1);
        if (agreement >= LOOK_AHEAD) return { skipBytes, skipUnits: run };
        if (agreement > bestAgreement) {
          best = { skipBytes, skipUnits: run };
          bestAgreement = agreement;
        }
      }
    }
    return best;
  }

  /**
   * How many of the next units match the stream from here on without any skip, up to
   * LOOK_AHEAD (also returned when the text and the stream end together, or the stream ends:
   * text dropped at the end is given to the last token).
   */
  private agreementAfter(atByte: number, atUnit: number): number {
    let matched = 0;
    let k = atUnit;
    while (matched < LOOK_AHEAD) {
      if (k >= this.units.length) return atByte >= this.streamLength ? LOOK_AHEAD : matched;
      if (atByte >= this.streamLength) return LOOK_AHEAD;
      const want = this.expectedOf(k++);
      if (want.length === 0) continue;
      if (!this.matchesAt(want, atByte)) return matched;
      atByte += want.length;
      matched++;
    }
    return LOOK_AHEAD;
  }

  /** Unmatched tail: the remaining text spread over the remaining bytes by position. */
  private apportionTail(): void {
    const remainingChars = this.text.length - this.charOffset;
    const remainingBytes = this.streamLength - this.byte;
    for (let b = this.byte; b < this.streamLength; b++) {
      const offset = this.charOffset + Math.floor(((b - this.byte) * remainingChars) / remainingBytes);
      this.charAtByte[b] = snapToCodePoint(this.text, offset);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Moves an offset off the second half of a surrogate pair. */
function snapToCodePoint(text: string, offset: number): number {
  if (offset > 0 && offset < text.length) {
    const code = text.charCodeAt(offset);
    const before = text.charCodeAt(offset - 1);
    if (code >= 0xdc00 && code <= 0xdfff && before >= 0xd800 && before <= 0xdbff) return offset - 1;
  }
  return offset;
}
