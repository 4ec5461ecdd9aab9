/** Tokenizer definitions built in code, for offset tests beyond the byte-level test model. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_MODEL = join(__dirname, '..', '..', 'models', 'tiny');

export function tinyTokenizerFiles(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  return {
    json: JSON.parse(readFileSync(join(TINY_MODEL, 'tokenizer.json'), 'utf8')),
    config: JSON.parse(readFileSync(join(TINY_MODEL, 'tokenizer_config.json'), 'utf8')),
  };
}

/**
 * A Llama-2-style SentencePiece BPE: `▁` for spaces, byte fallback for characters outside
 * the vocabulary. `style` picks the old layout (Prepend + Replace normalizer) or the newer
 * one (Metaspace pre-tokenizer).
 */
export function sentencePieceTokenizer(style: 'normalizer' | 'metaspace'): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const pieces = ['▁', 'e', 't', 'a', 'o', 'h', 'n', 's', 'r', 'i', 'l', 'd', 'T', 'c', 'u', 'é', '日', '本',
    '▁t', 'he', '▁the', '▁a', 'an', '▁an', 'nd', '▁and', 'in', '▁in', 'er', 'on', 'es', '▁s', '▁T', '▁The', '日本', '▁▁', '▁▁▁▁'];
  for (const piece of pieces) vocab[piece] = Object.keys(vocab).length;
  const merges = ['▁ t', 'h e', '▁t he', '▁ a', 'a n', '▁a n', 'n d', '▁an d', 'i n', '▁ in', 'e r', 'o n', 'e s', '▁ s', '▁ T', '▁T he', '日 本', '▁ ▁', '▁▁ ▁▁'];
  const common = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    post_processor: null,
    decoder: { type: 'Sequence', decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  };
  const json = style === 'normalizer'
    ? { ...common, normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, pre_tokenizer: null }
    : { ...common, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
  return { json, config: { tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false } };
}

/** The test model's byte-level tokenizer with an NFC normalizer in front. */
export function nfcByteLevelTokenizer(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const { json, config } = tinyTokenizerFiles();
  return { json: { ...json, normalizer: { type: 'NFC' } }, config };
}

/** Texts that have broken offset code before: every test of ranges runs on all of them. */
export const TRICKY_TEXTS: Record<string, string> = {
  empty: '',
  ascii: 'The quick brown fox jumps over the lazy dog.',
  crlf: 'line one\r\nline two\r\n\r\nline four\rold mac\n',
  tabs: 'def f(x):\n\tif x:\n\t\treturn 1\n    return 2\n',
  emojiSkinTones: 'Thumbs 👍🏽 and 👋🏿 waves',
  zwjFamily: 'family: 👨‍👩‍👧‍👦 and flag 🏳️‍🌈 and 🇫🇷',
  cjk: '日本語のテキストと中文文本，还有한국어.',
  combining: 'Cafe\u0301 nai\u0308ve re\u0301sume\u0301 Z\u0351\u0352\u0353a',
  rtl: 'שלום עולם and مرحبا بالعالم 123',
  loneSurrogate: 'before \uD800 middle \uDC00 after \uD83D',
  controls: 'nul\u0000 bell\u0007 del\u007F zero\u200Bwidth bom\uFEFF end',
  specialLiteral: 'text <|endoftext|> more <s> text',
  spaces: 'a        b\n            indented\n',
  longLine: 'word '.repeat(10000),
};
