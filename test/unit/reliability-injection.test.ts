/**
 * Hover injection: document text, token texts (a hostile vocabulary) and the
 * model name holding Markdown, HTML, `<script>`, `command:` links, autolinks and very long
 * strings stay inert in the hover Markdown: no raw HTML tag, no link but the extension's own
 * command link, no emphasis, code or table structure from the data, no extra lines, and long
 * strings shortened.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import type { DocumentScores } from '../../src/core/types';
import { swatchDataUri } from '../../src/core/heatmapColors';
import { wordUnits } from '../../src/core/heatUnits';
import { compareWords } from '../../src/core/comparison';
import { hoverMarkdown, type HoverContext } from '../../src/core/hoverText';
import fc from 'fast-check';
import { fragment, hostileDocument } from '../helpers/fuzzText';
import { TINY_MODEL } from '../helpers/tokenizers';
import { propertyRuns } from '../helpers/propertyRuns';

const OWN_LINK = 'command:surprisalLens.showNextWords?%5B%7B%22offset%22%3A3%7D%5D';

const PAYLOADS = [
  '**bold**', '__bold__', '*em*', '_em_', '`code`', '```js\nalert(1)\n```', '~~strike~~',
  '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<a href="command:workbench.action.quit">quit</a>', '<!-- hidden -->', '</td></tr>',
  '[click](command:workbench.action.terminal.new)', '[x][ref]\n\n[ref]: command:workbench.action.quit', '![img](https://evil.example/x.png)',
  '<https://evil.example>', 'https://evil.example/path', 'www.evil.example', 'javascript:alert(1)', 'data:text/html,<b>x</b>',
  '&lt;script&gt;', '&#60;b&#62;', '\\*not escaped\\*', '| a | b |\n|---|---|', '# Heading', '> quote', '---', '\r\n    indented code', '$x^2$', ':smile:', '@user',
  '\u2028line separator', '\u202Eright-to-left override', 'trailing backslash\\',
];
const LONG = 'A'.repeat(50_000);
const OWN_SWATCH = / !\[colour of step \d\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*\)/;
const SWATCH = swatchDataUri('dark', 3);

/** The Markdown with every backslash-escaped character replaced by a placeholder (so what remains is live syntax). */
function liveSyntax(md: string): string {
  let out = '';
  for (let i = 0; i < md.length; i++) {
    if (md[i] === '\\' && i + 1 < md.length) {
      out += '\u0001\u0001';
      i++;
    } else {
      out += md[i];
    }
  }
  return out;
}

const ALLOWED_LINE = /^(|\*\*.*|Rank .*|No alternatives: .*|Heatmap: .*|Compared: .*|Compared with .*|#(\d+|\?) .*|Token \*\*.*|Token \u2026 and \d+ more tokens of this word  |Model .*|\[Show next-word distribution here\]\(.*|Unscored: .*)$/;

function assertInert(md: string, label: string, withLink: boolean): void {
  assert.ok(!md.includes('\r'), `${label}: no carriage return`);
  let lines = md.split('\n');
  const links = lines.filter((line) => line.startsWith('[Show'));
  assert.deepEqual(links, withLink ? [`[Show next-word distribution here](${OWN_LINK})`] : [], `${label}: the own link, once, on its own line`);
  // The extension's own colour swatch (a generated SVG) is the one image allowed.
  lines = lines.filter((line) => !line.startsWith('[Show')).map((line) => line.replace(OWN_SWATCH, ''));
  for (const line of lines) assert.match(line, ALLOWED_LINE, `${label}: a line of the template, not from the data: ${JSON.stringify(line.slice(0, 80))}`);
  const live = liveSyntax(lines.join('\n'));
  for (const c of ['<', '>', '`', '_', '~', '&', '[', ']', '!', '$', '^']) {
    assert.ok(!live.includes(c), `${label}: unescaped ${c} in ${JSON.stringify(live.slice(Math.max(0, live.indexOf(c) - 40), live.indexOf(c) + 40))}`);
  }
  assert.doesNotMatch(live, /command:|https?:|www\.|javascript:|data:/i, `${label}: no link target`);
  for (const run of live.match(/\*+/g) ?? []) assert.equal(run, '**', `${label}: only the template's bold markers`);
  assert.ok(!live.includes('|'), `${label}: no table syntax`);
  // The template's own bold pairs (around escaped text) are not payloads.
  const liveAll = liveSyntax(md).replace(/\*\*([^*\n]*)\*\*/g, '\u0002$1\u0002');
  for (const payload of PAYLOADS) {
    if (payload.length > 3 && /[*_`<[&~|#]/.test(payload)) assert.ok(!liveAll.includes(payload), `${label}: raw payload ${JSON.stringify(payload)}`);
  }
}

describe('hover Markdown injection', () => {
  let model: LanguageModel;
  let text: string;
  let scores: DocumentScores;
  before(async () => {
    model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
    text = PAYLOADS.join(' ') + ` ${'x'.repeat(1_500)} end`;
    scores = await model.score(text, { topK: 10 });
  });
  after(() => model.dispose());

  function context(overrides: Partial<HoverContext> = {}): HoverContext {
    return { text, tokenText: (id) => model.tokenizer.displayText(id), modelName: 'tiny', panelCommandUri: OWN_LINK, ...overrides };
  }

  it('document text with Markdown, HTML, scripts and command links is inert in every token hover', () => {
    for (let i = 0; i < scores.tokenCount; i++) assertInert(hoverMarkdown(scores, i, context()), `token ${i}`, true);
  });

  it('a hostile vocabulary (every alternative a payload) is inert', () => {
    const hostile = (id: number) => PAYLOADS[id % PAYLOADS.length]!;
    for (let i = 0; i < scores.tokenCount; i += 3) assertInert(hoverMarkdown(scores, i, context({ tokenText: hostile })), `token ${i}`, true);
  });

  it('with the words and the heatmap\'s swatch, every hover is still inert', () => {
    const words = wordUnits(text, scores);
    const withSwatch = context({ words, heatmap: { mode: 'surprisal', maxBits: 18 }, swatch: () => SWATCH, stepOf: () => 3 });
    for (let i = 0; i < scores.tokenCount; i += 2) {
      const md = hoverMarkdown(scores, i, withSwatch);
      assertInert(md, `token ${i}`, true);
      if (!md.includes('Unscored')) assert.ok(md.split('\n')[0]!.endsWith(`![colour of step 3](${SWATCH})  `), 'the swatch ends the first line');
    }
  });

  it('with a second model compared (hostile names, words of the document), every hover is still inert', async () => {
    // The same model twice, one scoring shifted so the figures differ; what matters here is the text.
    const second = await model.score(text, { topK: 3 });
    const words = wordUnits(text, scores);
    const comparison = compareWords(text, scores, second, words);
    let compared = 0;
    for (const [i, name] of PAYLOADS.entries()) {
      const index = (i * 7) % scores.tokenCount;
      const md = hoverMarkdown(scores, index, context({ words, modelName: PAYLOADS[(i + 3) % PAYLOADS.length]!, comparison: { secondModelName: name, words: comparison } }));
      assertInert(md, `token ${index} with second model ${JSON.stringify(name)}`, true);
      if (md.includes('\nCompared: ')) compared++;
    }
    const long = hoverMarkdown(scores, 9, context({ words, comparison: { secondModelName: LONG, words: comparison } }));
    assertInert(long, 'a long second model name', true);
    assert.ok(long.length < 4_000 && !long.includes('A'.repeat(41)), 'the second model name is shortened');
    assert.ok(compared > PAYLOADS.length / 2, `only ${compared} hovers had the comparison line`);
  });

  it('without the panel link there is no link at all', () => {
    for (let i = 0; i < scores.tokenCount; i += 7) assertInert(hoverMarkdown(scores, i, context({ panelCommandUri: null })), `token ${i}`, false);
  });

  it('very long token texts and words are shortened: the hover stays small', () => {
    const longest = (md: string) => Math.max(...md.split('\n').map((l) => l.length));
    const hostile = () => LONG;
    const wordToken = Array.from(scores.ids.keys()).find((i) => scores.starts[i]! > text.indexOf('xxxx') + 100)!;
    for (const i of [0, 5, wordToken]) {
      const md = hoverMarkdown(scores, i, context({ tokenText: hostile }));
      assertInert(md, `token ${i}`, true);
      assert.ok(md.length < 4_000, `token ${i}: hover of ${md.length} characters`);
      assert.ok(longest(md) < 400, `token ${i}: a line of ${longest(md)} characters`);
      assert.ok(!md.includes('A'.repeat(41)), 'a long token is cut at 40 characters');
    }
    const word = hoverMarkdown(scores, wordToken, context({ words: wordUnits(text, scores) }));
    assert.match(word, /^\*\*x{40}\u2026\*\* \u00B7 /, 'the 1,500-character word is shortened');
    assert.ok(word.length < 4_000);
  });

  it('fast-check: 300 hostile documents, vocabularies and model names give inert hovers', async () => {
    const payload = fc.oneof(fragment, fc.constantFrom(...PAYLOADS), fc.string({ unit: 'binary', maxLength: 60 }));
    await fc.assert(
      fc.asyncProperty(hostileDocument(30).filter((d) => d.length > 0), fc.array(payload, { minLength: 1, maxLength: 8 }), payload, fc.nat(), async (doc, vocab, name, pick) => {
        const docScores = await model.score(doc, { topK: 10 });
        if (docScores.tokenCount === 0) return;
        const index = pick % docScores.tokenCount;
        const md = hoverMarkdown(docScores, index, { text: doc, tokenText: (id) => vocab[id % vocab.length]!, modelName: name, panelCommandUri: OWN_LINK });
        assertInert(md, `token ${index} of ${JSON.stringify(doc.slice(0, 60))}`, true);
      }),
      { numRuns: propertyRuns(300), seed: 4 },
    );
  });

  it('a hostile model name is escaped', () => {
    const md = hoverMarkdown(scores, 2, context({ modelName: '<b>m</b> **x** [l](command:workbench.action.quit) `c`' }));
    assertInert(md, 'model name', true);
  });

  // Was a gap (fixed in 87c4590): the model name (config.json `_name_or_path`) was escaped but
  // neither shortened nor cleared of carriage returns.
  it('a long model name with line breaks is shortened and kept on one line', () => {
    const md = hoverMarkdown(scores, 2, context({ modelName: `name\r    indented code\r${'N'.repeat(10_000)}` }));
    assertInert(md, 'model name', true);
    assert.ok(md.length < 4_000, `hover of ${md.length} characters`);
  });
});
