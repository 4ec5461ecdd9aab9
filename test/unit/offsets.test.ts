import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextTokenizer, type TokenizedText } from '../../src/core/textTokenizer';
import { nfcByteLevelTokenizer, sentencePieceTokenizer, tinyTokenizerFiles, TRICKY_TEXTS } from '../helpers/tokenizers';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function assertTiles(text: string, t: TokenizedText, label: string): void {
  const n = t.ids.length;
  if (text.length === 0) {
    assert.equal(n, 0, `${label}: empty text has no tokens`);
    return;
  }
  assert.ok(n > 0, `${label}: tokens`);
  assert.equal(t.starts[0], 0, `${label}: first token starts at 0`);
  assert.equal(t.ends[n - 1], text.length, `${label}: last token ends at the end`);
  for (let i = 0; i < n; i++) {
    assert.ok(t.starts[i]! <= t.ends[i]!, `${label}: token ${i} range is ordered`);
    if (i > 0) assert.equal(t.starts[i], t.ends[i - 1], `${label}: token ${i} starts where ${i - 1} ends`);
  }
}

/** Where a token holds whole characters, its range is exactly the text it decodes to. */
function assertRangesMatchBytes(text: string, tokenizer: TextTokenizer, t: TokenizedText, label: string): number {
  let checked = 0;
  for (let i = 0; i < t.ids.length; i++) {
    let decoded: string;
    try {
      decoded = utf8.decode(tokenizer.pieceBytes(t.ids[i]!));
    } catch {
      continue; // part of a character: see the reporting rule in tokenAlignment.ts
    }
    assert.equal(text.slice(t.starts[i], t.ends[i]).toWellFormed(), decoded, `${label}: token ${i} (${JSON.stringify(decoded)})`);
    checked++;
  }
  return checked;
}

describe('token offsets, byte-level BPE (GPT-2 style)', () => {
  const { json, config } = tinyTokenizerFiles();
  const tokenizer = new TextTokenizer(json, config);
  for (const [name, text] of Object.entries(TRICKY_TEXTS)) {
    it(`tiles ${name}`, () => {
      const t = tokenizer.encode(text);
      assertTiles(text, t, name);
      assert.equal(t.exactOffsets, true, `${name}: exact alignment`);
      const checked = assertRangesMatchBytes(text, tokenizer, t, name);
      // ASCII cannot be split inside a character, so every token was checked.
      if (/^[\x00-\x7f]*$/.test(text)) assert.equal(checked, t.ids.length);
    });
  }

  it('gives a character split across tokens to the token that completes it', () => {
    const text = 'x🦒y'; // the giraffe is rare enough to be split into byte tokens
    const t = tokenizer.encode(text);
    assertTiles(text, t, 'split');
    const owners = [];
    for (let i = 0; i < t.ids.length; i++) if (t.starts[i]! < t.ends[i]!) owners.push(text.slice(t.starts[i], t.ends[i]));
    assert.ok(owners.includes('🦒') || owners.some((o) => o.includes('🦒')), 'one token owns the whole emoji');
    const empty = Array.from(t.ids.keys()).filter((i) => t.starts[i] === t.ends[i]);
    assert.ok(empty.length >= 1, 'leading-byte tokens get empty ranges');
    for (const i of empty) assert.equal(t.starts[i], 1, 'empty ranges sit at the start of the character');
  });

  it('handles a 50,000-character line quickly', () => {
    const text = 'lorem ipsum dolor sit amet, '.repeat(1786).slice(0, 50000);
    const started = performance.now();
    const t = tokenizer.encode(text);
    assertTiles(text, t, 'long line');
    assert.ok(performance.now() - started < 5000);
  });

  it('shows partial-character tokens as byte escapes', () => {
    const t = tokenizer.encode('🦒');
    const shown = Array.from(t.ids, (id) => tokenizer.displayText(id)).join(' ');
    assert.match(shown, /\\xF0/);
  });
});

describe('token offsets, SentencePiece BPE with byte fallback', () => {
  for (const style of ['normalizer', 'metaspace'] as const) {
    const { json, config } = sentencePieceTokenizer(style);
    const tokenizer = new TextTokenizer(json, config);
    for (const [name, text] of Object.entries(TRICKY_TEXTS)) {
      it(`tiles ${name} (${style})`, () => {
        const t = tokenizer.encode(text);
        assertTiles(text, t, `${style} ${name}`);
        assert.equal(t.exactOffsets, true, `${style} ${name}: exact alignment`);
      });
    }
    it(`maps the prepended ▁ and byte-fallback pieces (${style})`, () => {
      const text = 'The 日本 Zoë';
      const t = tokenizer.encode(text);
      const slices = Array.from(t.ids.keys(), (i) => text.slice(t.starts[i], t.ends[i]));
      assert.equal(slices.join(''), text);
      assert.ok(slices.includes('The'), `first word keeps its own range: ${JSON.stringify(slices)}`);
      assert.ok(slices.includes(' 日本') || slices.includes('日本'), JSON.stringify(slices));
      // ë is not in the vocabulary: two byte tokens, the second owns the character.
      const eIndex = text.indexOf('ë');
      assert.ok(slices.includes('ë'), JSON.stringify(slices));
      assert.ok(Array.from(t.ids.keys()).some((i) => t.starts[i] === eIndex && t.ends[i] === eIndex));
    });
  }
});

describe('token offsets under a normalizer', () => {
  it('maps NFC-composed characters back onto the original combining sequence', () => {
    const { json, config } = nfcByteLevelTokenizer();
    const tokenizer = new TextTokenizer(json, config);
    const text = 'Cafe\u0301 and re\u0301sume\u0301';
    const t = tokenizer.encode(text);
    assertTiles(text, t, 'nfc');
    assert.equal(t.exactOffsets, true);
    const joined = Array.from(t.ids.keys(), (i) => text.slice(t.starts[i], t.ends[i]).normalize('NFC')).join('');
    assert.equal(joined, text.normalize('NFC'));
    for (let i = 0; i < t.ids.length; i++) {
      const slice = text.slice(t.starts[i], t.ends[i]);
      assert.ok(!/^\p{M}/u.test(slice), `no token range starts with a bare combining mark: ${JSON.stringify(slice)}`);
    }
  });
});
