/**
 * Matches an inference server's tokens to the document's exact UTF-16 ranges.
 *
 * A server describes its tokens in one of two ways:
 * - raw vocabulary pieces (vLLM's `/tokenize` `token_strs`): byte-level BPE pieces in GPT-2's
 *   printable-byte alphabet (`Ġ` for a space), or SentencePiece pieces (`▁` for a space,
 *   `<0xNN>` for a byte the vocabulary lacks). Each piece stands for known bytes.
 * - each token decoded on its own (SGLang's `input_token_logprobs` texts, TGI's `prefill`
 *   texts): a token holding part of a UTF-8 character reads as U+FFFD, and a SentencePiece
 *   decoder drops the leading space of a lone `▁word`.
 *
 * Both are walked against the UTF-8 bytes of the document, token by token, with a
 * depth-first search over the few places where a token could end in more than one way
 * (a U+FFFD stands for one to three bytes; a leading `▁` may be the prefix the tokenizer
 * added). Nothing is skipped or guessed: every byte of the document must be covered by
 * exactly one token, in order, or the alignment fails with one `RemoteError`
 * ('alignment'), so colours are never shifted onto the wrong characters. Tokens that stand
 * for no text are allowed only where servers put them: special tokens (a BOS) before the
 * text, special tokens (an EOS) after it, and the prefix `▁` a SentencePiece tokenizer adds.
 *
 * Ranges follow local scoring (tokenAlignment.ts): a character split across tokens belongs
 * to the token that holds its last byte, a token holding only leading bytes of a character
 * gets an empty range at its start, and the ranges tile the text. When the server's
 * tokenizer composes characters (NFC, as Qwen2's does) and the document holds decomposed
 * ones, the walk is retried with each base character and its marks normalised as one unit.
 */
import { splitUnits } from '../tokenAlignment';
import { RemoteError } from './remoteError';

export type ServerTokens =
  | { readonly kind: 'pieces'; readonly pieces: readonly string[] }
  | { readonly kind: 'decoded'; readonly texts: readonly string[] };

export interface AlignedTokens {
  /** Server tokens before the text that stand for none of it (a BOS the server added). */
  readonly leading: number;
  /** Server tokens [leading, leading + count) cover the text; any after them are trailing special tokens. */
  readonly count: number;
  /** UTF-16 ranges of the `count` covering tokens; they tile the text. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** How covering token `k` reads, from the document bytes it covers (stray bytes as `\xNN`, as local display text). */
  displayText(k: number): string;
}

const encoder = new TextEncoder();
const lossy = new TextDecoder('utf-8');
const strict = new TextDecoder('utf-8', { fatal: true });
const SPACE = 0x20;
const REPLACEMENT = '\uFFFD';
const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;
/** How special tokens read: `<s>`, `</s>`, `<|begin_of_text|>`, `<bos>`, `[CLS]`. */
const SPECIAL_TOKEN = /^(<\|[^|\s]{1,40}\|>|<\/?[A-Za-z_][^<>\s]{0,40}>|\[[A-Z][A-Z_]{1,20}\])$/;
/** The search gives up after this many steps per token (a pathological answer must not hang the editor). */
const STEPS_PER_TOKEN = 16;

/** GPT-2's reversible map from printable characters back to bytes (as textTokenizer.ts builds it). */
const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCharCode(printable(b) ? b : 256 + extra++), b);
  return map;
})();

export function looksSpecial(token: string): boolean {
  return SPECIAL_TOKEN.test(token);
}

/** The bytes of a byte-level BPE piece, or null when it holds a character outside GPT-2's alphabet. */
export function byteLevelBytes(piece: string): Uint8Array | null {
  const bytes = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const byte = BYTE_OF_CHAR.get(piece[i]!);
    if (byte === undefined) return null;
    bytes[i] = byte;
  }
  return bytes;
}

/** The bytes of a SentencePiece piece: `▁` is a space, `<0xNN>` one byte, the rest its UTF-8. */
export function sentencePieceBytes(piece: string): Uint8Array {
  const fallback = BYTE_FALLBACK.exec(piece);
  return fallback ? new Uint8Array([parseInt(fallback[1]!, 16)]) : encoder.encode(piece.replaceAll('\u2581', ' '));
}

/** How a raw piece reads for people: its text, with stray bytes as `\xNN`. */
export function pieceDisplayText(piece: string, byteLevel: boolean): string {
  if (looksSpecial(piece)) return piece;
  const bytes = byteLevel ? byteLevelBytes(piece) : sentencePieceBytes(piece);
  return bytes ? bytesDisplayText(bytes) : piece;
}

/** UTF-8 bytes as text, or, when they hold part of a character, with the bytes beyond ASCII as `\xNN`. */
function bytesDisplayText(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i]! < 0x80;
  if (ascii) return String.fromCharCode(...bytes);
  try {
    return strict.decode(bytes);
  } catch {
    return Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  }
}

/** Whether raw pieces are byte-level BPE (rather than SentencePiece) by their look. */
export function piecesLookByteLevel(pieces: readonly string[]): boolean {
  let sentencePiece = false;
  for (const piece of pieces) {
    if (looksSpecial(piece)) continue;
    if (piece.includes('\u2581') || BYTE_FALLBACK.test(piece)) sentencePiece = true;
    if (!byteLevelBytes(piece)) return false;
  }
  return !sentencePiece;
}

/** The document as the walk sees it: bytes, and the UTF-16 start of the unit holding each byte. */
interface DocumentBytes {
  readonly bytes: Uint8Array;
  /** charAt[b]: UTF-16 offset of the start of the unit containing byte b; charAt[length] = text length. */
  readonly charAt: Int32Array;
}

function documentBytes(text: string, normalize: boolean): DocumentBytes {
  const units = normalize ? splitUnits(text, true) : Array.from(text);
  const encoded = units.map((unit) => encoder.encode(normalize ? unit.normalize('NFC') : unit));
  let total = 0;
  for (const e of encoded) total += e.length;
  const bytes = new Uint8Array(total);
  const charAt = new Int32Array(total + 1);
  let at = 0;
  let offset = 0;
  for (let k = 0; k < units.length; k++) {
    bytes.set(encoded[k]!, at);
    charAt.fill(offset, at, at + encoded[k]!.length);
    at += encoded[k]!.length;
    offset += units[k]!.length;
  }
  charAt[total] = text.length;
  return { bytes, charAt };
}

/** Where a token may end when it starts at byte `at`: `end * 2 + 1` for a special token standing for no text. */
type OptionsAt = (token: number, at: number, afterSpecialsOnly: boolean) => number[];

/**
 * Aligns the server's tokens with `text`; throws `RemoteError('alignment')` when they do not
 * spell it. `host` names the server in the message.
 */
export function alignServerTokens(text: string, tokens: ServerTokens, host: string): AlignedTokens {
  const count = tokens.kind === 'pieces' ? tokens.pieces.length : tokens.texts.length;
  const attempts: DocumentBytes[] = [documentBytes(text, false)];
  if (text.normalize('NFC') !== text) attempts.push(documentBytes(text, true));
  let furthest = 0;
  let furthestToken = 0;
  let furthestChar = 0;
  for (const doc of attempts) {
    const interpretations: OptionsAt[] = tokens.kind === 'decoded'
      ? [decodedOptions(tokens.texts, doc)]
      : piecesLookByteLevel(tokens.pieces)
        ? [pieceOptions(tokens.pieces, doc, byteLevelBytes), pieceOptions(tokens.pieces, doc, sentencePieceBytes)]
        : [pieceOptions(tokens.pieces, doc, sentencePieceBytes)];
    for (const optionsAt of interpretations) {
      const walk = search(count, doc.bytes.length, optionsAt);
      if (walk.ok) return ranges(walk.ends, walk.special, doc, text.length);
      if (walk.furthest >= furthest) {
        furthest = walk.furthest;
        furthestToken = walk.furthestToken;
        if (doc === attempts[0]) furthestChar = doc.charAt[Math.min(walk.furthest, doc.bytes.length)]!;
      }
    }
  }
  const shown = tokenShown(tokens, furthestToken);
  throw new RemoteError(
    'alignment',
    `The tokens from ${host} do not spell the document (from ${where(text, furthestChar)}${shown}); nothing is coloured rather than colouring the wrong characters`,
  );
}

function where(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function tokenShown(tokens: ServerTokens, index: number): string {
  const all = tokens.kind === 'pieces' ? tokens.pieces : tokens.texts;
  if (index >= all.length) return ', the tokens end before the text';
  const token = all[index]!;
  return `, token ${index} ${JSON.stringify(token.length > 24 ? `${token.slice(0, 24)}…` : token)}`;
}

function pieceOptions(pieces: readonly string[], doc: DocumentBytes, bytesOf: (piece: string) => Uint8Array | null): OptionsAt {
  // A vocabulary is small next to a long document: each distinct piece is converted once.
  const cache = new Map<string, Uint8Array | null>();
  return (token, at, afterSpecialsOnly) => {
    const piece = pieces[token]!;
    let bytes = cache.get(piece);
    if (bytes === undefined) cache.set(piece, (bytes = bytesOf(piece)));
    const options: number[] = [];
    if (bytes && matchesAt(doc.bytes, at, bytes, 0)) options.push((at + bytes.length) * 2);
    // The `▁` (or space) a tokenizer puts before the text, and again after a special token
    // written in it (a Prepend normalizer prepends to each stretch between them), stands for no text.
    const prefixPlace = (at === 0 && afterSpecialsOnly) || (token > 0 && looksSpecial(pieces[token - 1]!));
    if (bytes && prefixPlace && bytes[0] === SPACE && matchesAt(doc.bytes, at, bytes, 1)) options.push((at + bytes.length - 1) * 2);
    if (isSpecialPlace(at, afterSpecialsOnly, doc) && looksSpecial(piece)) options.push(at * 2 + 1);
    return options;
  };
}

function decodedOptions(texts: readonly string[], doc: DocumentBytes): OptionsAt {
  const cache = new Map<string, Uint8Array>();
  return (token, at, afterSpecialsOnly) => {
    const decoded = texts[token]!;
    const options: number[] = [];
    const add = (end: number) => {
      if (!options.includes(end * 2)) options.push(end * 2);
    };
    if (!decoded.includes(REPLACEMENT)) {
      let bytes = cache.get(decoded);
      if (!bytes) cache.set(decoded, (bytes = encoder.encode(decoded)));
      if (bytes.length > 0 && matchesAt(doc.bytes, at, bytes, 0)) add(at + bytes.length);
      // A SentencePiece decoder drops the leading space of a token decoded alone.
      if (doc.bytes[at] === SPACE && matchesAt(doc.bytes, at + 1, bytes, 0)) add(at + 1 + bytes.length);
    } else {
      // U+FFFD stands for one to three bytes of a split character: try each end whose bytes
      // decode (as the server's lossy decoder does) to exactly this text.
      const limit = Math.min(doc.bytes.length, at + 4 * decoded.length + 4);
      for (const from of doc.bytes[at] === SPACE ? [at, at + 1] : [at]) {
        for (let end = from + 1; end <= limit; end++) {
          if (lossy.decode(doc.bytes.subarray(from, end)) === decoded) add(end);
        }
      }
    }
    if (isSpecialPlace(at, afterSpecialsOnly, doc)) {
      // An empty first token is a BOS decoded with special tokens skipped; an empty token
      // after it is the lone `▁` a SentencePiece tokenizer put before the text (a text token).
      if (looksSpecial(decoded) || (decoded === '' && (token === 0 || at === doc.bytes.length))) options.push(at * 2 + 1);
      else if (decoded === '') options.push(at * 2);
    } else if (decoded === '' && token > 0 && looksSpecial(texts[token - 1]!)) {
      // The same `▁`, put again after a special token written in the text.
      options.push(at * 2);
    }
    return options;
  };
}

/** Special tokens standing for no text are accepted before the text and after it, nowhere else. */
function isSpecialPlace(at: number, afterSpecialsOnly: boolean, doc: DocumentBytes): boolean {
  return (at === 0 && afterSpecialsOnly) || at === doc.bytes.length;
}

function matchesAt(stream: Uint8Array, at: number, bytes: Uint8Array, from: number): boolean {
  const length = bytes.length - from;
  if (at + length > stream.length) return false;
  for (let j = 0; j < length; j++) if (stream[at + j] !== bytes[from + j]) return false;
  return true;
}

type Walk =
  | { ok: true; ends: Int32Array; special: Uint8Array }
  | { ok: false; furthest: number; furthestToken: number };

/** Depth-first search for token ends that cover every byte exactly once. */
function search(count: number, length: number, optionsAt: OptionsAt): Walk {
  const starts = new Int32Array(count);
  const ends = new Int32Array(count);
  const special = new Uint8Array(count);
  const options: (number[] | null)[] = new Array(count).fill(null);
  const cursor = new Int32Array(count);
  const dead = new Set<number>();
  const key = (token: number, at: number) => token * (length + 1) + at;
  let furthest = 0;
  let furthestToken = 0;
  let steps = 0;
  const budget = STEPS_PER_TOKEN * count + 4096;
  let token = 0;
  let at = 0;
  const failure = (): Walk => ({ ok: false, furthest, furthestToken });
  if (count === 0) return length === 0 ? { ok: true, ends, special } : failure();
  for (;;) {
    if (++steps > budget) return failure();
    if (token === count) {
      if (at === length) return { ok: true, ends, special };
      dead.add(key(token, at));
      token--;
      at = starts[token]!;
      continue;
    }
    if (at > furthest || (at === furthest && token > furthestToken)) {
      furthest = at;
      furthestToken = token;
    }
    if (options[token] === null) {
      let afterSpecialsOnly = true;
      for (let t = token - 1; t >= 0 && afterSpecialsOnly; t--) afterSpecialsOnly = special[t] === 1;
      options[token] = optionsAt(token, at, afterSpecialsOnly);
      cursor[token] = 0;
      starts[token] = at;
    }
    const list = options[token]!;
    if (cursor[token]! < list.length) {
      const option = list[cursor[token]!++]!;
      const end = option >> 1;
      if (dead.has(key(token + 1, end))) continue;
      ends[token] = end;
      special[token] = option & 1;
      token++;
      at = end;
      if (token < count) options[token] = null;
      continue;
    }
    dead.add(key(token, at));
    options[token] = null;
    if (token === 0) return failure();
    token--;
    at = starts[token]!;
  }
}

function ranges(ends: Int32Array, special: Uint8Array, doc: DocumentBytes, textLength: number): AlignedTokens {
  const total = ends.length;
  let leading = 0;
  while (leading < total && special[leading] === 1 && ends[leading] === 0) leading++;
  let last = total;
  while (last > leading && special[last - 1] === 1) last--;
  const count = last - leading;
  const starts = new Int32Array(count);
  const tokenEnds = new Int32Array(count);
  let previousEnd = 0;
  for (let k = 0; k < count; k++) {
    const i = leading + k;
    const byteStart = i === leading ? 0 : previousEnd;
    starts[k] = k === 0 ? 0 : Math.max(doc.charAt[byteStart]!, starts[k - 1]!);
    previousEnd = ends[i]!;
  }
  for (let k = 0; k < count; k++) tokenEnds[k] = k + 1 < count ? starts[k + 1]! : textLength;
  const displayText = (k: number) => {
    const i = leading + k;
    return bytesDisplayText(doc.bytes.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!));
  };
  return { leading, count, starts, ends: tokenEnds, displayText };
}
