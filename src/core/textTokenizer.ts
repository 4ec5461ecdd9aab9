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
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
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
