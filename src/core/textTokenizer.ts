/**
 * A Hugging Face `tokenizer.json` tokenizer that also reports where every token lies in the
 * original text (UTF-16 offsets, what VS Code positions use).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { alignTokens, type UnitNormalizer } from './tokenAlignment';

export interface TokenizedText {
  readonly ids: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** See `TokenRanges.exact`. */
  readonly exactOffsets: boolean;
}

/** The last tokens of a text, from `TextTokenizer.encodeTail`. */
export interface TokenizedTail extends TokenizedText {
  /**
   * True when these are all of the text's tokens (`ids.length` is then its token count);
   * false when they are only the last ones, at least as many as were asked for.
   */
  readonly wholeText: boolean;
}

/** Characters per token assumed for the first cut of `encodeTail`; a shortfall doubles the span. */
const TAIL_CHARS_PER_TOKEN = 8;
/** How far the check of `encodeTail` reaches before the cut and past the join, in characters. */
const TAIL_CHECK_CHARS = 64;

type JsonObject = Record<string, unknown>;

/** How the tokenizer writes the bytes of the text into its vocabulary pieces. */
type PieceEncoding =
  | { kind: 'byte-level' }
  /** SentencePiece style: pieces are text, `▁` stands for a space, `<0xNN>` for raw bytes. */
  | { kind: 'text'; byteFallback: boolean };

const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;
const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** GPT-2's reversible map from bytes to printable characters, inverted. */
const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.includes(b)) map.set(String.fromCharCode(b), b);
    else map.set(String.fromCharCode(256 + extra++), b);
  }
  return map;
})();

export class TextTokenizer {
  readonly vocabSize: number;
  private readonly tokenizer: Tokenizer;
  private readonly pieceEncoding: PieceEncoding;
  private readonly unitNormalizer: UnitNormalizer | null;
  private readonly groupCombiningMarks: boolean;
  private readonly insertedPrefix: Uint8Array | null;
  private readonly addedTokenIds: ReadonlySet<number>;
  private readonly pieceBytesCache = new Map<number, Uint8Array>();
  private readonly vocab: readonly (string | undefined)[];
  /** Whether some token runs across a word boundary (see `encodeTail`); found on first use. */
  private spansWordBoundary: boolean | undefined;

  constructor(tokenizerJson: JsonObject, tokenizerConfig: JsonObject) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const vocabMap = this.tokenizer.get_vocab(true);
    const vocab: (string | undefined)[] = [];
    for (const [piece, id] of vocabMap) vocab[id] = piece;
    this.vocab = vocab;
    this.vocabSize = vocab.length;
    this.addedTokenIds = new Set(this.tokenizer.get_added_tokens_decoder().keys());

    const components = [tokenizerJson.pre_tokenizer, tokenizerJson.decoder].flatMap(flattenComponents);
    const byteLevel = components.some((c) => c.type === 'ByteLevel');
    const model = (tokenizerJson.model ?? {}) as JsonObject;
    this.pieceEncoding = byteLevel ? { kind: 'byte-level' } : { kind: 'text', byteFallback: model.byte_fallback === true };

    // Position-dependent steps (Prepend, Strip) are left out: they add or remove text at the
    // edges, which the alignment's resynchronisation absorbs.
    const normalizerSteps = flattenComponents(tokenizerJson.normalizer).filter(
      (c) => c.type !== 'Prepend' && c.type !== 'Strip',
    );
    const metaspace = components.find((c) => c.type === 'Metaspace');
    const unicodeForms = new Set(['NFC', 'NFD', 'NFKC', 'NFKD', 'Precompiled', 'BertNormalizer', 'StripAccents']);
    this.groupCombiningMarks = normalizerSteps.some((c) => unicodeForms.has(String(c.type)));
    this.unitNormalizer = buildUnitNormalizer(this.tokenizer, normalizerSteps, metaspace);
    this.insertedPrefix = insertedPrefixOf(tokenizerJson, metaspace);
  }

  /** Encodes text (no special tokens added) and locates every token in it. */
  encode(text: string): TokenizedText {
    if (text.length === 0) {
      return { ids: new Int32Array(0), starts: new Int32Array(0), ends: new Int32Array(0), exactOffsets: true };
    }
    const encoding = this.tokenizer.encode(text, { add_special_tokens: false });
    const ids = Int32Array.from(encoding.ids);
    const bytes = Array.from(ids, (id) => this.pieceBytes(id));
    let afterSpecial: Set<number> | null = null;
    if (this.insertedPrefix) {
      afterSpecial = new Set();
      for (let i = 0; i < ids.length; i++) if (this.addedTokenIds.has(ids[i]!)) afterSpecial.add(i);
    }
    const ranges = alignTokens(text, bytes, this.unitNormalizer, this.groupCombiningMarks, this.insertedPrefix, afterSpecial);
    return { ids, starts: ranges.starts, ends: ranges.ends, exactOffsets: ranges.exact };
  }

  /**
   * The tokens at the end of `text`: at least the last `minTokens` of `encode(text)` (all
   * of them when it has fewer), with the same ids and the same offsets into `text`, at a
   * cost that grows with `minTokens`, not with the length of the text. For the context
   * window before a cursor deep in a long document.
   *
   * How: only a suffix of the text is encoded, from a cut at a word boundary (a space after
   * a character that is not space-like). No token of the vocabulary runs across such a
   * boundary (checked once per tokenizer; if one does, the whole text is encoded), so BPE
   * merges and Unigram or WordPiece splits on either side of it are independent; and the
   * pre-tokenizers in use (GPT-2 and Llama-3 style regexes, whose matches never hold a
   * space after a non-space, have no look-behind; Metaspace; whitespace splitting) end a
   * pre-token there whatever came before. So the two encodings agree after the cut, except
   * where the suffix's first word reads as the start of a text (a Prepend normalizer's `▁`,
   * a Strip): the suffix's tokens before the next word boundary that starts a token (the
   * join) are dropped. Normalizers and added tokens could in principle break this, so it
   * is checked on every call: a second, short encoding from an earlier word boundary (or
   * the start of the text) to a word boundary past the join must give exactly the same
   * tokens over that stretch, or the whole text is encoded. Cuts are only made before a
   * space, so never inside a surrogate pair, a combining sequence or a run of letters
   * (whose BPE split depends on where the run starts): a line of 100 KB of `a` is encoded
   * whole. If the suffix holds too few tokens it is doubled.
   *
   * `exactOffsets` is that of the encoded suffix.
   */
  encodeTail(text: string, minTokens: number): TokenizedTail {
    const want = Math.max(0, Math.ceil(minTokens));
    let span = TAIL_CHARS_PER_TOKEN * want + TAIL_CHECK_CHARS;
    while (want > 0 && !this.someTokenSpansWordBoundary()) {
      const cut = wordBoundaryAtOrBefore(text, text.length - span);
      // No boundary, or one in the first half (encoding the text whole costs about the same).
      if (cut === 0 || cut < text.length / 2) break;
      const suffix = this.encode(text.slice(cut));
      let first = 1;
      while (first < suffix.ids.length && !isWordBoundary(text, cut + suffix.starts[first]!)) first++;
      if (suffix.ids.length - first < want) {
        span *= 2;
        continue;
      }
      if (!this.tailAgrees(text, cut, suffix, first)) break;
      return {
        ids: suffix.ids.slice(first),
        starts: suffix.starts.slice(first).map((s) => s + cut),
        ends: suffix.ends.slice(first).map((e) => e + cut),
        exactOffsets: suffix.exactOffsets,
        wholeText: false,
      };
    }
    return { ...this.encode(text), wholeText: true };
  }

  /**
   * The encoding of `text`, given `previous`, the encoding of an earlier version of it
   * (`previousText`): equal to `encode(text)`, at a cost that grows with what follows the
   * first change instead of with the whole text. Typing deep in a long document re-encodes
   * only its end.
   *
   * The tokens before a word boundary at least `TAIL_CHECK_CHARS` before the first changed
   * character are taken from `previous`; the rest is encoded from that boundary, joined as
   * in `encodeTail` (same argument, same per-call check), and only where `previous` also has
   * a token starting at the join. Anything else encodes the whole text.
   */
  encodeEdited(previous: TokenizedText, previousText: string, text: string): TokenizedText {
    const limit = Math.min(previousText.length, text.length);
    let changed = 0;
    while (changed < limit && previousText.charCodeAt(changed) === text.charCodeAt(changed)) changed++;
    if (changed === text.length && text.length === previousText.length) return previous;
    const cut = this.someTokenSpansWordBoundary() ? 0 : wordBoundaryAtOrBefore(text, changed - TAIL_CHECK_CHARS);
    if (cut > 0) {
      const suffix = this.encode(text.slice(cut));
      let first = 1;
      while (first < suffix.ids.length && !isWordBoundary(text, cut + suffix.starts[first]!)) first++;
      const join = first < suffix.ids.length ? cut + suffix.starts[first]! : Infinity;
      // The tokens of `previous` before the join end at or before it, the next starts there.
      const kept = join <= changed ? firstAtOrAfter(previous.starts, join) : -1;
      if (kept > 0 && previous.starts[kept] === join && previous.ends[kept - 1]! <= join && this.tailAgrees(text, cut, suffix, first)) {
        const count = kept + suffix.ids.length - first;
        const ids = new Int32Array(count);
        const starts = new Int32Array(count);
        const ends = new Int32Array(count);
        ids.set(previous.ids.subarray(0, kept));
        starts.set(previous.starts.subarray(0, kept));
        ends.set(previous.ends.subarray(0, kept));
        ids.set(suffix.ids.subarray(first), kept);
        for (let i = first, j = kept; i < suffix.ids.length; i++, j++) {
          starts[j] = suffix.starts[i]! + cut;
          ends[j] = suffix.ends[i]! + cut;
        }
        return { ids, starts, ends, exactOffsets: previous.exactOffsets && suffix.exactOffsets };
      }
    }
    return this.encode(text);
  }

  /**
   * Whether a token of the vocabulary holds a space after a character that is not
   * space-like: then a word boundary need not be a token boundary (a BPE trained without
   * pre-tokenization may merge across words), and `encodeTail` encodes the whole text.
   */
  private someTokenSpansWordBoundary(): boolean {
    if (this.spansWordBoundary === undefined) {
      // How a space reads in the vocabulary: `▁` (or another replacement) for SentencePiece.
      const spaceForm = this.pieceEncoding.kind === 'text' ? this.unitNormalizer?.(' ') || ' ' : ' ';
      this.spansWordBoundary = false;
      for (let id = 0; id < this.vocabSize && !this.spansWordBoundary; id++) {
        const piece = this.pieceEncoding.kind === 'text' || this.addedTokenIds.has(id) ? this.vocab[id] : utf8.decode(this.pieceBytes(id));
        if (piece === undefined || piece.length < 2) continue;
        const text = spaceForm === ' ' ? piece : piece.replaceAll(spaceForm, ' ');
        for (let i = 1; i < text.length; i++) {
          if (isWordBoundary(text, i)) {
            this.spansWordBoundary = true;
            break;
          }
        }
      }
    }
    return this.spansWordBoundary;
  }

  /**
   * Whether an encoding from an earlier word boundary gives the same tokens as `suffix`
   * (the encoding of `text` from `cut`) from its token `first` up to a word boundary a
   * little further on.
   */
  private tailAgrees(text: string, cut: number, suffix: TokenizedText, first: number): boolean {
    const join = cut + suffix.starts[first]!;
    const from = wordBoundaryAtOrBefore(text, cut - TAIL_CHECK_CHARS);
    const to = wordBoundaryAtOrAfter(text, join + TAIL_CHECK_CHARS);
    const check = this.encode(text.slice(from, to));
    let k = 0;
    while (k < check.ids.length && from + check.starts[k]! < join) k++;
    if (k === check.ids.length || from + check.starts[k]! !== join) return false;
    if (from + check.ends[check.ids.length - 1]! !== to) return false;
    for (let i = first; k < check.ids.length; i++, k++) {
      if (i >= suffix.ids.length) return false;
      if (check.ids[k] !== suffix.ids[i]) return false;
      if (from + check.starts[k]! !== cut + suffix.starts[i]! || from + check.ends[k]! !== cut + suffix.ends[i]!) return false;
    }
    return true;
  }

  /** The bytes a token stands for, as they appear in the (normalised) text. */
  pieceBytes(id: number): Uint8Array {
    let bytes = this.pieceBytesCache.get(id);
    if (bytes) return bytes;
    const piece = this.vocab[id] ?? '';
    if (this.addedTokenIds.has(id)) {
      bytes = encoder.encode(piece);
    } else if (this.pieceEncoding.kind === 'byte-level') {
      bytes = new Uint8Array(Array.from(piece, (ch) => BYTE_OF_CHAR.get(ch) ?? 0x3f));
    } else {
      const fallback = this.pieceEncoding.byteFallback ? BYTE_FALLBACK.exec(piece) : null;
      bytes = fallback ? new Uint8Array([parseInt(fallback[1]!, 16)]) : encoder.encode(piece);
    }
    this.pieceBytesCache.set(id, bytes);
    return bytes;
  }

  /**
   * How a single token reads on its own, for display. A token holding only part of a
   * UTF-8 character shows its bytes as `\xNN` rather than a replacement character.
   */
  displayText(id: number): string {
    if (this.addedTokenIds.has(id)) return this.vocab[id] ?? '';
    const bytes = this.pieceBytes(id);
    const text = hasInvalidUtf8(bytes) ? decodeWithByteEscapes(bytes) : utf8.decode(bytes);
    return this.pieceEncoding.kind === 'text' ? text.replace(/\u2581/g, ' ') : text;
  }

  /** Display text for every id (sent once to the editor, which has no tokenizer). */
  displayTable(): string[] {
    return Array.from({ length: this.vocabSize }, (_, id) => (this.vocab[id] === undefined ? '' : this.displayText(id)));
  }

  idOf(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  decode(ids: readonly number[]): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}

/** The first index whose value is at least `value` in an ascending array, or the length. */
function firstAtOrAfter(values: Int32Array, value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whitespace, controls and invisible separators: characters that never end a word for `encodeTail`. */
function isSpaceLike(code: number): boolean {
  return code <= 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0x1680 || (code >= 0x2000 && code <= 0x200f)
    || (code >= 0x2028 && code <= 0x202f) || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** A space (U+0020) right after a character that is not space-like: a word boundary for `encodeTail`. */
function isWordBoundary(text: string, at: number): boolean {
  return at > 0 && at < text.length && text.charCodeAt(at) === 0x20 && !isSpaceLike(text.charCodeAt(at - 1));
}

/** The last word boundary at or before `at`, or 0 (the start of the text) when there is none. */
function wordBoundaryAtOrBefore(text: string, at: number): number {
  for (let i = Math.min(at, text.length - 1); i > 0; i--) if (isWordBoundary(text, i)) return i;
  return 0;
}

/** The first word boundary at or after `at`, or the end of the text when there is none. */
function wordBoundaryAtOrAfter(text: string, at: number): number {
  for (let i = Math.max(at, 1); i < text.length; i++) if (isWordBoundary(text, i)) return i;
  return text.length;
}

function flattenComponents(component: unknown): JsonObject[] {
  if (!component || typeof component !== 'object') return [];
  const c = component as JsonObject;
  for (const key of ['pretokenizers', 'normalizers', 'decoders']) {
    if (Array.isArray(c[key])) return (c[key] as unknown[]).flatMap(flattenComponents);
  }
  return [c];
}

/** What the tokenizer may add before the text: a Prepend normalizer's string, Metaspace's `▁`, ByteLevel's space. */
function insertedPrefixOf(tokenizerJson: JsonObject, metaspace: JsonObject | undefined): Uint8Array | null {
  const prepend = flattenComponents(tokenizerJson.normalizer).find((c) => c.type === 'Prepend');
  if (prepend && typeof prepend.prepend === 'string') return encoder.encode(prepend.prepend);
  if (metaspace && metaspace.prepend_scheme !== 'never' && metaspace.add_prefix_space !== false) {
    return encoder.encode(typeof metaspace.replacement === 'string' ? metaspace.replacement : '\u2581');
  }
  const byteLevel = flattenComponents(tokenizerJson.pre_tokenizer).find((c) => c.type === 'ByteLevel');
  if (byteLevel && byteLevel.add_prefix_space === true) return encoder.encode(' ');
  return null;
}

function buildUnitNormalizer(tokenizer: Tokenizer, steps: JsonObject[], metaspace: JsonObject | undefined): UnitNormalizer | null {
  const full = tokenizer.normalizer;
  const applySteps: UnitNormalizer[] = [];
  if (full && steps.length > 0) {
    // Reuse the library's own normalizer objects so the unit is normalised exactly as the
    // tokenizer normalises it; only the position-dependent steps are skipped.
    const parts = collectNormalizers(full).filter((n) => n.config.type !== 'Prepend' && n.config.type !== 'Strip');
    for (const part of parts) applySteps.push((text) => part.normalize(text));
  }
  if (metaspace) {
    const replacement = typeof metaspace.replacement === 'string' ? metaspace.replacement : '\u2581';
    applySteps.push((text) => text.replaceAll(' ', replacement));
  }
  if (applySteps.length === 0) return null;
  return (unit) => applySteps.reduce((text, step) => step(text), unit);
}

interface NormalizerLike {
  config: { type?: unknown };
  normalize(text: string): string;
  normalizers?: (NormalizerLike | null)[];
}

function collectNormalizers(normalizer: unknown): NormalizerLike[] {
  const n = normalizer as NormalizerLike;
  if (Array.isArray(n.normalizers)) return n.normalizers.flatMap((child) => (child ? collectNormalizers(child) : []));
  return [n];
}

function hasInvalidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

/** Decodes valid UTF-8 runs and writes stray bytes as `\xNN`. */
function decodeWithByteEscapes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      out += utf8.decode(bytes.subarray(i, i + length));
      i += length;
    } else {
      out += `\\x${bytes[i]!.toString(16).toUpperCase().padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

function utf8SequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (length === 0 || at + length > bytes.length) return 0;
  for (let j = 1; j < length; j++) if ((bytes[at + j]! & 0xc0) !== 0x80) return 0;
  return length;
}
