/**
 * The remote backend's alignment of a server's tokens with the document: the ranges must be
 * exactly those local scoring gives (same tokenizer, same text), whether the server sends
 * raw vocabulary pieces (vLLM /tokenize) or each token decoded alone (SGLang, TGI); and a
 * token list that does not spell the text must be refused, never shifted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextTokenizer } from '../../src/core/textTokenizer';
import { alignServerTokens, pieceDisplayText } from '../../src/core/remote/alignment';
import { RemoteError } from '../../src/core/remote/remoteError';
import { nfcByteLevelTokenizer, sentencePieceTokenizer, tinyTokenizerFiles, TRICKY_TEXTS } from '../helpers/tokenizers';

const tokenizers = {
  'byte-level (GPT-2 style)': tinyTokenizerFiles(),
  'SentencePiece, Prepend normalizer (Llama 2)': sentencePieceTokenizer('normalizer'),
  'SentencePiece, Metaspace': sentencePieceTokenizer('metaspace'),
  'byte-level with NFC (Qwen2 style)': nfcByteLevelTokenizer(),
};

const texts: Record<string, string> = {
  ...Object.fromEntries(Object.entries(TRICKY_TEXTS).filter(([name]) => name !== 'loneSurrogate' && name !== 'longLine')),
  leadingSpaces: '   three spaces first',
  emojiRun: '😀😀x🎉',
  mixed: 'Ünïcödé 日本語 e\u0301 \r\n\ttab',
};

function vocabOf(tokenizer: TextTokenizer): string[] {
  const vocab: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) vocab.push('');
  const inner = (tokenizer as unknown as { vocab: (string | undefined)[] }).vocab;
  inner.forEach((piece, id) => (vocab[id] = piece ?? ''));
  return vocab;
}

function assertTiles(starts: Int32Array, ends: Int32Array, length: number): void {
  if (starts.length === 0) return assert.equal(length, 0);
  assert.equal(starts[0], 0);
  assert.equal(ends[ends.length - 1], length, 'the ranges reach the end');
  for (let i = 1; i < starts.length; i++) assert.equal(starts[i], ends[i - 1], `token ${i} starts where ${i - 1} ends`);
  for (let i = 0; i < starts.length; i++) assert.ok(starts[i]! <= ends[i]!);
}

describe('remote alignment matches local ranges', () => {
  for (const [tokenizerName, files] of Object.entries(tokenizers)) {
    const tokenizer = new TextTokenizer(files.json, files.config);
    const vocab = vocabOf(tokenizer);
    for (const [textName, text] of Object.entries(texts)) {
      it(`${tokenizerName}: ${textName}`, () => {
        const local = tokenizer.encode(text);
        assert.ok(local.exactOffsets, 'the local reference is exact');
        const pieces = Array.from(local.ids, (id) => vocab[id]!);
        const fromPieces = alignServerTokens(text, { kind: 'pieces', pieces }, 'server');
        assert.equal(fromPieces.leading, 0);
        assert.equal(fromPieces.count, local.ids.length);
        assertTiles(fromPieces.starts, fromPieces.ends, text.length);
        // A composing normalizer makes local scoring keep a mark with its base character; the
        // server's tokenizer is unknown here, so marks split off by a token are kept apart.
        if (!(tokenizerName.includes('NFC') && /\p{M}/u.test(text))) {
          assert.deepEqual(Array.from(fromPieces.starts), Array.from(local.starts), 'starts from raw pieces');
          assert.deepEqual(Array.from(fromPieces.ends), Array.from(local.ends), 'ends from raw pieces');
        }

        // Decoded alone, as SGLang and TGI report tokens; a BOS in front, as servers add it.
        const decoded = ['<s>', ...Array.from(local.ids, (id) => tokenizer.decode([id]))];
        const fromDecoded = alignServerTokens(text, { kind: 'decoded', texts: decoded }, 'server');
        assert.equal(fromDecoded.leading, 1, 'the BOS stands for no text');
        assert.equal(fromDecoded.count, local.ids.length);
        assertTiles(fromDecoded.starts, fromDecoded.ends, text.length);
      });
    }
  }
});

describe('remote alignment: exact cases written out', () => {
  it('a byte-level emoji split over two tokens belongs to the token holding its last byte', () => {
    // 😀 is F0 9F 98 80; as GPT-2 pieces: "ðŁĺ" + "Ģ" (bytes F0 9F 98 / 80).
    const result = alignServerTokens('a😀b', { kind: 'pieces', pieces: ['a', 'ðŁĺ', 'Ģ', 'b'] }, 'server');
    assert.deepEqual(Array.from(result.starts), [0, 1, 1, 3]);
    assert.deepEqual(Array.from(result.ends), [1, 1, 3, 4]);
  });

  it('decoded pieces with U+FFFD find their byte counts from their neighbours', () => {
    // F0 9F | 98 80: decoded alone, one U+FFFD, then two (one per stray continuation byte).
    const result = alignServerTokens('😀!', { kind: 'decoded', texts: ['\uFFFD', '\uFFFD\uFFFD', '!'] }, 'server');
    assert.deepEqual(Array.from(result.starts), [0, 0, 2]);
    assert.deepEqual(Array.from(result.ends), [0, 2, 3]);
  });

  it('SentencePiece: the prefix ▁ the tokenizer added stands for no text, a leading space in the text is kept', () => {
    const added = alignServerTokens('Hi there', { kind: 'pieces', pieces: ['<s>', '▁Hi', '▁there'] }, 'server');
    assert.equal(added.leading, 1);
    assert.deepEqual([Array.from(added.starts), Array.from(added.ends)], [[0, 2], [2, 8]]);
    const own = alignServerTokens(' Hi', { kind: 'pieces', pieces: ['▁', '▁Hi'] }, 'server');
    assert.deepEqual([Array.from(own.starts), Array.from(own.ends)], [[0, 0], [0, 3]]);
    const bytes = alignServerTokens('é', { kind: 'pieces', pieces: ['▁', '<0xC3>', '<0xA9>'] }, 'server');
    assert.deepEqual([Array.from(bytes.starts), Array.from(bytes.ends)], [[0, 0, 0], [0, 0, 1]]);
  });

  it('a trailing EOS is dropped; CRLF stays with its tokens', () => {
    const result = alignServerTokens('a\r\nb', { kind: 'pieces', pieces: ['a', 'čĊ', 'b', '</s>'] }, 'server');
    assert.equal(result.count, 3);
    assert.deepEqual(Array.from(result.starts), [0, 1, 3]);
  });

  it('tokens of another text are refused with one clear error naming where', () => {
    for (const tokens of [
      { kind: 'pieces' as const, pieces: ['Hello', 'Ġthere'] },
      { kind: 'pieces' as const, pieces: ['Hello', 'Ġworld', 'Ġagain'] },
      { kind: 'pieces' as const, pieces: ['Hello'] },
      { kind: 'decoded' as const, texts: ['Hello', ' wor'] },
      { kind: 'decoded' as const, texts: ['<s>', 'Hello', '<s>', ' world'] },
      { kind: 'decoded' as const, texts: ['Hello', ' world', '!'] },
    ]) {
      assert.throws(
        () => alignServerTokens('Hello world', tokens, 'gpu-01:8000'),
        (error: unknown) => {
          assert.ok(error instanceof RemoteError);
          assert.equal(error.code, 'alignment');
          assert.match(error.message, /gpu-01:8000 do not spell the document \(from line 1, column \d+/);
          assert.ok(!error.message.includes('\n'));
          return true;
        },
        JSON.stringify(tokens),
      );
    }
  });

  it('special tokens are accepted only before or after the text', () => {
    assert.throws(() => alignServerTokens('ab', { kind: 'pieces', pieces: ['a', '<s>', 'b'] }, 'h'), RemoteError);
  });

  it('display text of pieces', () => {
    assert.equal(pieceDisplayText('Ġworld', true), ' world');
    assert.equal(pieceDisplayText('ðŁĺ', true), '\\xF0\\x9F\\x98');
    assert.equal(pieceDisplayText('▁the', false), ' the');
    assert.equal(pieceDisplayText('<0x0A>', false), '\n');
  });
});
