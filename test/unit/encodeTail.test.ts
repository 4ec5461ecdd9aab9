/**
 * `TextTokenizer.encodeTail`: the last tokens of a text, found by encoding only its end,
 * must be exactly the last tokens of `encode(text)`, ids and offsets into the whole text,
 * on the test model's and the default model's byte-level BPE, the SentencePiece layouts and
 * an NFC normalizer; hostile text (emoji, CJK, combining marks, CRLF, lone surrogates,
 * special-token literals, long runs without spaces) included. Tokenizers that break the
 * word-boundary argument are encoded whole. `encodeEdited` (the encoding after an edit,
 * reusing the unchanged beginning) must equal `encode` under random edits of the same texts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TextTokenizer, type TokenizedTail } from '../../src/core/textTokenizer';
import { fragment } from '../helpers/fuzzText';
import { nfcByteLevelTokenizer, sentencePieceTokenizer, tinyTokenizerFiles, TRICKY_TEXTS } from '../helpers/tokenizers';
import { propertyRuns } from '../helpers/propertyRuns';

type Files = { json: Record<string, unknown>; config: Record<string, unknown> };

const DEFAULT_MODEL = join(__dirname, '..', '..', 'models', 'default');
function defaultTokenizerFiles(): Files {
  return {
    json: JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8')),
    config: JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8')),
  };
}

const TOKENIZERS: Record<string, () => Files> = {
  'test model (byte-level BPE)': tinyTokenizerFiles,
  'default model (byte-level BPE)': defaultTokenizerFiles,
  'SentencePiece, Prepend normalizer': () => sentencePieceTokenizer('normalizer'),
  'SentencePiece, Metaspace': () => sentencePieceTokenizer('metaspace'),
  'byte-level BPE behind NFC': nfcByteLevelTokenizer,
};

/** Asserts that `tail` is the end of `encode(text)` and holds at least `minTokens` of it. */
function assertTailOf(tokenizer: TextTokenizer, text: string, minTokens: number, tail: TokenizedTail, label: string): void {
  const whole = tokenizer.encode(text);
  const n = tail.ids.length;
  const skip = whole.ids.length - n;
  assert.ok(n >= Math.min(minTokens, whole.ids.length), `${label}: ${n} tokens for ${minTokens} asked (${whole.ids.length} in all)`);
  assert.ok(skip >= 0, `${label}: ${n} tokens, more than the ${whole.ids.length} of the whole text`);
  assert.equal(tail.wholeText, skip === 0 && tail.wholeText, `${label}: wholeText only with every token`);
  if (!tail.wholeText) assert.ok(skip > 0, `${label}: a cut tail drops at least one token`);
  assert.deepEqual(Array.from(tail.ids), Array.from(whole.ids.subarray(skip)), `${label}: ids`);
  assert.deepEqual(Array.from(tail.starts), Array.from(whole.starts.subarray(skip)), `${label}: starts`);
  assert.deepEqual(Array.from(tail.ends), Array.from(whole.ends.subarray(skip)), `${label}: ends`);
  if (whole.exactOffsets) assert.equal(tail.exactOffsets, true, `${label}: exact offsets`);
}

const PROSE = ['the', 'of', 'and', 'a', 'to', 'in', 'is', 'was', 'that', 'for', 'it', 'with', 'as', 'his', 'on', 'be', 'at', 'by', 'I', 'this', 'had', 'not', 'are', 'but', 'from', 'or', 'have', 'an', 'they', 'which', 'one', 'you', 'were', 'all', 'we', 'her', 'she', 'there', 'would', 'their', 'will', 'when', 'who', 'him', 'been', 'has', 'more', 'if', 'no', 'out', 'do', 'so', 'can', 'what', 'up', 'said', 'about', 'other', 'into', 'than', 'its', 'time', 'only', 'could', 'new', 'them', 'man', 'some', 'these', 'then', 'two', 'first', 'May', 'any', 'like', 'now', 'my', 'such', 'make', 'over', 'our', 'even', 'most', 'me', 'state', 'after', 'also', 'made', 'many', 'did', 'must', 'before', 'back', 'see', 'through', 'way', 'where', 'get', 'much', 'go', 'well', 'your', 'know', 'should', 'down', 'work', 'year', 'because', 'come', 'people', 'just', 'say', 'each', 'those', 'take', 'day', 'good', 'how', 'long', 'Mr', 'own', 'too', 'little', 'use', 'US', 'very', 'great', 'still', 'men', 'here', 'life', 'both', 'between', 'old', 'under', 'last', 'never', 'place', 'same', 'another', 'think', 'house', 'while', 'high', 'right', 'might', 'came', 'off', 'find', 'states', 'since', 'used', 'give', 'against', 'three', 'himself', 'look', 'few', 'general', 'hand', 'school', 'part', 'small', 'American', 'home', 'during', 'number', 'again', 'Mrs', 'around', 'thought', 'went', 'without', 'however', 'govern', 'don\'t', 'does', 'got', 'public', 'United', 'point', 'end', 'become', 'head', 'once', 'course', 'fact', 'upon', 'need', 'system', 'set', 'every', 'war', 'put', 'form', 'water', 'took'];

/** Long hostile text: prose words with fragments of every family of odd characters between them. */
const longText = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...PROSE).map((w) => ` ${w}`), weight: 6 },
      { arbitrary: fragment, weight: 3 },
      // runs without spaces: minified code, a long word, a run of one letter
      { arbitrary: fc.constantFrom('a', 'ab', 'x=1;', '{}', '日本').chain((unit) => fc.integer({ min: 2, max: 300 }).map((k) => unit.repeat(k))), weight: 1 },
    ),
    { minLength: 0, maxLength: 600, size: 'max' },
  )
  .map((parts) => parts.join(''));

describe('encodeTail: the last tokens of a text, from its end only', () => {
  for (const [name, files] of Object.entries(TOKENIZERS)) {
    describe(name, () => {
      const { json, config } = files();
      const tokenizer = new TextTokenizer(json, config);

      it('random hostile texts: the tail is the end of the whole encoding', () => {
        let cut = 0;
        let runs = 0;
        fc.assert(
          fc.property(longText, fc.integer({ min: 0, max: 48 }), (text, minTokens) => {
            const tail = tokenizer.encodeTail(text, minTokens);
            runs++;
            if (!tail.wholeText) cut++;
            assertTailOf(tokenizer, text, minTokens, tail, JSON.stringify(text.slice(-80)));
          }),
          { numRuns: propertyRuns(150), seed: 20261127 },
        );
        // A test that only ever took the fallback would prove nothing.
        assert.ok(cut > runs / 3, `the tail was cut in ${cut} of ${runs} texts`);
      });

      const cases: Record<string, { text: string; cut: boolean }> = {
        'prose': { text: PROSE.join(' ').repeat(20), cut: true },
        'a 100 KB line of a (no word boundary: encoded whole)': { text: 'a'.repeat(100_000), cut: false },
        'a 100 KB line of a at the end (encoded whole)': { text: `${PROSE.join(' ')} ${'a'.repeat(100_000)}`, cut: false },
        'a 100 KB line of a, then prose': { text: `${'a'.repeat(100_000)} ${PROSE.join(' ')}`, cut: true },
        'minified code without spaces (encoded whole)': { text: Array.from({ length: 400 }, (_, i) => `f${i}=function(a,b){return(a+b*${i})};x${i}=[1,2,"s"];`).join(''), cut: false },
        'minified code with a few spaces': { text: Array.from({ length: 400 }, (_, i) => `if(a${i}) return b.c(${i});else{x=y+${i}}`).join(''), cut: true },
        'indented code': { text: 'def f(x):\n\tif x:\n\t\treturn 1\n    return  2   # done\n'.repeat(200), cut: true },
        'CRLF lines': { text: Array.from({ length: 800 }, (_, i) => `line number ${i}\r\n`).join('') + '\r\r\n', cut: true },
        'emoji': { text: `${TRICKY_TEXTS.emojiSkinTones} ${TRICKY_TEXTS.zwjFamily} `.repeat(150), cut: true },
        'CJK with spaces': { text: '日本語のテキスト 中文文本，还有 한국어. '.repeat(300), cut: true },
        'CJK without spaces (encoded whole)': { text: '日本語のテキストと中文文本，还有한국어。'.repeat(300), cut: false },
        'combining marks, also after a space': { text: `${TRICKY_TEXTS.combining} x \u0301y e\u0301\u0302 `.repeat(200), cut: true },
        'lone surrogates': { text: `${TRICKY_TEXTS.loneSurrogate} \uDBFF x\uDFFF `.repeat(200), cut: true },
        'special-token literals': { text: `${TRICKY_TEXTS.specialLiteral} <|endoftext|><|endoftext|> `.repeat(200), cut: true },
        'runs of spaces': { text: `a        b\n            indented \u00a0 nbsp\t\ttabs `.repeat(200), cut: true },
        'every tricky text': { text: Object.values(TRICKY_TEXTS).join(' ').repeat(2), cut: true },
      };
      for (const [label, { text, cut }] of Object.entries(cases)) {
        it(`${label}`, () => {
          for (const minTokens of [1, 7, 63, 255]) {
            const tail = tokenizer.encodeTail(text, minTokens);
            assertTailOf(tokenizer, text, minTokens, tail, `${label}, ${minTokens} tokens`);
            if (minTokens <= 63) assert.equal(!tail.wholeText, cut, `${label}, ${minTokens} tokens: ${cut ? 'cut' : 'encoded whole'}`);
          }
        });
      }

      it('a short text, or no tokens asked for', () => {
        for (const text of ['', 'a', 'Hello world', ' x y z ']) {
          for (const minTokens of [0, 1, 100]) assertTailOf(tokenizer, text, minTokens, tokenizer.encodeTail(text, minTokens), JSON.stringify(text));
        }
      });
    });
  }

  it('encodes a few thousand characters, not the whole text', () => {
    const { json, config } = defaultTokenizerFiles();
    const encoded: number[] = [];
    class Counting extends TextTokenizer {
      override encode(text: string) {
        encoded.push(text.length);
        return super.encode(text);
      }
    }
    const tokenizer = new Counting(json, config);
    const text = PROSE.join(' ').repeat(40); // about 45,000 characters
    const tail = tokenizer.encodeTail(text, 255);
    assert.equal(tail.wholeText, false);
    assert.ok(tail.ids.length >= 255);
    const total = encoded.reduce((a, b) => a + b, 0);
    assert.ok(encoded.length <= 3 && total < 3000, `encoded ${encoded.join(' + ')} of ${text.length} characters`);
  });

  it('a vocabulary with a token across a word boundary is encoded whole', () => {
    const { json, config } = sentencePieceTokenizer('metaspace');
    const model = json.model as { vocab: Record<string, number>; merges: string[] };
    const vocab = { ...model.vocab, 'e▁': Object.keys(model.vocab).length };
    const tokenizer = new TextTokenizer({ ...json, model: { ...model, vocab, merges: [...model.merges, 'e ▁'] } }, config);
    const text = 'the tree here see the sea '.repeat(100);
    assert.ok(tokenizer.encode(text).ids.includes(vocab['e▁']!), 'the test text uses the spanning token');
    const tail = tokenizer.encodeTail(text, 10);
    assert.equal(tail.wholeText, true);
    assertTailOf(tokenizer, text, 10, tail, 'spanning token');
  });

  it('a tokenizer whose start of text reaches past the first word fails the check and is encoded whole', () => {
    // A normalizer that deletes the first two words of every text: the suffix loses the word
    // at the join, which the check's earlier cut keeps.
    const { json, config } = tinyTokenizerFiles();
    const tokenizer = new TextTokenizer({ ...json, normalizer: { type: 'Replace', pattern: { Regex: '^\\s*\\S+\\s+\\S+' }, content: '' } }, config);
    const text = PROSE.join(' ').repeat(3);
    assert.equal(tokenizer.decode(Array.from(tokenizer.encode('one two three four').ids)), ' three four', 'the normalizer deletes two words');
    const tail = tokenizer.encodeTail(text, 20);
    assert.equal(tail.wholeText, true);
    assertTailOf(tokenizer, text, 20, tail, 'start-dependent normalizer');
  });
});

/** Asserts that `edited` is exactly `encode(text)`. */
function assertEncodingOf(tokenizer: TextTokenizer, text: string, edited: { ids: Int32Array; starts: Int32Array; ends: Int32Array; exactOffsets: boolean }, label: string): void {
  const whole = tokenizer.encode(text);
  assert.deepEqual(Array.from(edited.ids), Array.from(whole.ids), `${label}: ids`);
  assert.deepEqual(Array.from(edited.starts), Array.from(whole.starts), `${label}: starts`);
  assert.deepEqual(Array.from(edited.ends), Array.from(whole.ends), `${label}: ends`);
  assert.equal(edited.exactOffsets, whole.exactOffsets, `${label}: exact offsets`);
}

/** A tokenizer that records how many characters each `encode` call was given. */
function counting(files: Files): { tokenizer: TextTokenizer; encoded: number[] } {
  const encoded: number[] = [];
  class Counting extends TextTokenizer {
    override encode(text: string) {
      encoded.push(text.length);
      return super.encode(text);
    }
  }
  return { tokenizer: new Counting(files.json, files.config), encoded };
}

/** An edit: where (a fraction of the text), how many characters it deletes, what it inserts. */
const edit = fc.record({
  at: fc.integer({ min: 0, max: 1000 }).map((permille) => permille / 1000),
  deleted: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 400 })),
  inserted: fc.oneof(fc.constant(''), fc.constantFrom('x', ' ', '\n', 'é', '😀', ' the'), fragment, fc.constantFrom(...PROSE).map((w) => ` ${w}`)),
});

describe('encodeEdited: the encoding after an edit, reusing the unchanged beginning', () => {
  for (const [name, files] of Object.entries(TOKENIZERS)) {
    it(`${name}: random edits of random hostile texts give the whole encoding`, () => {
      const { tokenizer, encoded } = counting(files());
      let reused = 0;
      let runs = 0;
      fc.assert(
        fc.property(longText, fc.array(edit, { minLength: 1, maxLength: 4 }), (original, edits) => {
          let text = original;
          let tokens = tokenizer.encode(text);
          for (const { at, deleted, inserted } of edits) {
            const position = Math.floor(at * text.length);
            const next = text.slice(0, position) + inserted + text.slice(position + deleted);
            encoded.length = 0;
            const edited = tokenizer.encodeEdited(tokens, text, next);
            runs++;
            if (encoded.length > 0 && encoded[0]! < next.length) reused++;
            assertEncodingOf(tokenizer, next, edited, JSON.stringify(next.slice(Math.max(0, position - 40), position + 40)));
            text = next;
            tokens = edited;
          }
        }),
        { numRuns: propertyRuns(120), seed: 20261128 },
      );
      // A test that only ever took the fallback would prove nothing.
      assert.ok(reused > runs / 4, `the beginning was reused in ${reused} of ${runs} edits`);
    });
  }

  it('typing at 90% of a long document encodes only its end', () => {
    const { tokenizer, encoded } = counting({
      json: JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8')),
      config: JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8')),
    });
    let text = PROSE.join(' ').repeat(40); // about 45,000 characters
    let tokens = tokenizer.encode(text);
    const at = Math.floor(text.length * 0.9);
    for (const ch of 'hello, world') {
      const position = at + (text.length - PROSE.join(' ').length * 40);
      const next = text.slice(0, position) + ch + text.slice(position);
      encoded.length = 0;
      tokens = tokenizer.encodeEdited(tokens, text, next);
      text = next;
      const total = encoded.reduce((a, b) => a + b, 0);
      assert.ok(total < text.length * 0.15, `encoded ${encoded.join(' + ')} of ${text.length} characters`);
    }
    assertEncodingOf(tokenizer, text, tokens, 'after typing');
  });

  it('an unchanged text gives the previous encoding back', () => {
    const tokenizer = new TextTokenizer(tinyTokenizerFiles().json, tinyTokenizerFiles().config);
    const tokens = tokenizer.encode('unchanged text');
    assert.equal(tokenizer.encodeEdited(tokens, 'unchanged text', 'unchanged text'), tokens);
  });
});
