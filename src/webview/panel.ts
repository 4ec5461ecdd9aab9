/**
 * The Next-Word Distribution webview (browser bundle, dist/webview.js). It renders what the
 * extension host sends (`ToPanel`) and sends back what the user does (`FromPanel`). Every
 * string from the document or the model is written with textContent, never as HTML; state
 * (mode, temperature) is kept with getState/setState.
 */
import type {
  DocumentViewMessage,
  GenerationMessage,
  GenerationRule,
  GenerationRuleKind,
  LegendMessage,
  FromPanel,
  HistogramBin,
  PanelMode,
  RankBucket,
  SparkPoint,
  ToPanel,
  WordsMessage,
} from '../shared/panelProtocol';
import { formatPercent as percent, visibleToken as visible } from '../core/format';
import { MAX_TEMPERATURE, MIN_TEMPERATURE, temperedShares } from '../core/temperature';
import { keptCandidates } from '../core/generation';

interface VsCodeApi {
  postMessage(message: FromPanel): void;
  getState(): unknown;
  setState(state: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  readonly mode: PanelMode;
  readonly temperature: number;
  /** The generation controls. */
  readonly rule: GenerationRuleKind;
  readonly k: number;
  readonly p: number;
  readonly seed: number;
  readonly count: number;
}

const RULE_KINDS: readonly GenerationRuleKind[] = ['greedy', 'sample', 'topK', 'topP'];

const vscode = acquireVsCodeApi();
const SVG = 'http://www.w3.org/2000/svg';

function restore(): SavedState {
  const raw = vscode.getState() as Partial<SavedState> | undefined;
  const mode: PanelMode = raw?.mode === 'tokens' ? 'tokens' : 'words';
  const t = typeof raw?.temperature === 'number' && Number.isFinite(raw.temperature) ? raw.temperature : 1;
  const number = (v: unknown, fallback: number, min: number, max: number) => (typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback);
  return {
    mode,
    temperature: Math.min(MAX_TEMPERATURE, Math.max(MIN_TEMPERATURE, t)),
    // Sampling at T = 1 keeps the whole list, so nothing is dimmed until a rule is chosen.
    rule: RULE_KINDS.includes(raw?.rule as GenerationRuleKind) ? raw!.rule! : 'sample',
    k: Math.floor(number(raw?.k, 5, 1, 100)),
    p: number(raw?.p, 0.9, 0.01, 1),
    seed: Math.floor(number(raw?.seed, 1, 0, 0xffffffff)),
    count: Math.floor(number(raw?.count, 10, 1, 200)),
  };
}

let state = restore();
let words: WordsMessage | undefined;
let active = 0;
let spark: readonly SparkPoint[] = [];
let sparkIndex = 0;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element as T;
}

const el = {
  legend: byId('legend'),
  legendNote: byId('legend-note'),
  modeWords: byId<HTMLButtonElement>('mode-words'),
  modeTokens: byId<HTMLButtonElement>('mode-tokens'),
  temperature: byId<HTMLInputElement>('temperature'),
  temperatureValue: byId<HTMLOutputElement>('temperature-value'),
  temperatureNote: byId('temperature-note'),
  status: byId('status'),
  contextTail: byId('context-tail'),
  position: byId('position'),
  entropy: byId('entropy'),
  endsHere: byId('ends-here'),
  candidates: byId<HTMLUListElement>('candidates'),
  documentStatus: byId('document-status'),
  summary: byId('summary'),
  ranks: byId('ranks'),
  histogram: byId('histogram'),
  sparkline: byId('sparkline'),
  exportCsv: byId<HTMLButtonElement>('export-csv'),
  exportJson: byId<HTMLButtonElement>('export-json'),
  rule: byId<HTMLSelectElement>('rule'),
  topK: byId<HTMLInputElement>('top-k'),
  topP: byId<HTMLInputElement>('top-p'),
  seed: byId<HTMLInputElement>('seed'),
  count: byId<HTMLInputElement>('count'),
  step: byId<HTMLButtonElement>('step'),
  generate: byId<HTMLButtonElement>('generate'),
  stop: byId<HTMLButtonElement>('stop'),
  undoStep: byId<HTMLButtonElement>('undo-step'),
  clearHistory: byId<HTMLButtonElement>('clear-history'),
  ruleNote: byId('rule-note'),
  generateStatus: byId('generate-status'),
  draw: byId('draw'),
  history: byId<HTMLTableElement>('history'),
  historySpark: byId('history-spark'),
};

function save(next: Partial<SavedState>): void {
  state = { ...state, ...next };
  vscode.setState(state);
}

function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}


/** How a screen reader should say a candidate. */
function spoken(text: string): string {
  const trimmed = text.replace(/^[ \t]+/, '');
  const lead = text.length - trimmed.length;
  const core = trimmed.replace(/\r?\n/g, ' newline ').replace(/\t/g, ' tab ').replace(/\s+/g, ' ').trim();
  if (core === '') return lead > 0 ? 'space' : 'empty';
  return lead > 0 ? `space, ${core}` : core;
}

// ---- next words ----

function renderMode(): void {
  el.modeWords.setAttribute('aria-pressed', String(state.mode === 'words'));
  el.modeTokens.setAttribute('aria-pressed', String(state.mode === 'tokens'));
  el.candidates.setAttribute('aria-label', state.mode === 'words'
    ? 'Most likely next words: arrow keys choose, Enter inserts at the cursor'
    : 'Most likely next tokens: arrow keys choose, Enter inserts at the cursor');
}

function renderTemperature(): void {
  el.temperature.value = String(state.temperature);
  el.temperatureValue.textContent = state.temperature.toFixed(2);
  el.temperatureNote.textContent = state.temperature === 1
    ? 'Percentages are the model\'s probabilities given the text before the cursor. Moving the temperature re-weights only this list: p^(1/T), renormalised over the listed candidates.'
    : `Temperature ${state.temperature.toFixed(2)}: percentages are p^(1/T) renormalised over the listed candidates only, not the model's probabilities.`;
}

function renderWords(): void {
  const list = el.candidates;
  // Keep the keyboard in the list when it is re-rendered under the focus.
  const hadFocus = list.contains(document.activeElement);
  clear(list);
  list.removeAttribute('aria-activedescendant');
  el.contextTail.parentElement!.hidden = !words;
  if (!words) return;
  const m = words;
  el.contextTail.textContent = m.contextTail.replace(/\r?\n/g, '\u23ce').replace(/\t/g, '\u2192');
  el.position.textContent = ` — ${m.fileName}, line ${m.line + 1}, column ${m.character + 1}${m.truncated ? ' (earlier text cut to the model\'s window)' : ''}`;
  const entropyWhere = m.mode === 'words' && m.partial !== '' ? 'Entropy of the next token where this word starts' : 'Next-token entropy';
  el.entropy.textContent = `${Number.isFinite(m.entropyBits) ? `${entropyWhere}: ${m.entropyBits.toFixed(2)} bits.` : ''}${
    m.mode === 'words' && !m.exact ? ' The search stopped at its step budget: rarer words may be missing.' : ''}`;
  el.endsHere.textContent = m.mode === 'words' && m.midWord
    ? `Completing "${m.partial.trimStart()}": the word ends here with ${percent(m.endsHereProb)}; listed below are the longer words.`
    : m.mode === 'words' && m.partial !== '' ? 'Words after the space before the cursor.' : '';
  const shares = state.temperature === 1 ? m.candidates.map((c) => c.prob) : temperedShares(m.candidates.map((c) => c.prob), state.temperature);
  const max = Math.max(1e-12, ...shares);
  if (m.candidates.length === 0) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.setAttribute('role', 'presentation');
    empty.textContent = 'No candidates here.';
    list.appendChild(empty);
    return;
  }
  active = Math.min(active, m.candidates.length - 1);
  // What the generation rule would keep of this list, and the shares it would draw from.
  const kept = keptCandidates(m.candidates.map((c) => (c.completion === '' ? 0 : c.prob)), currentRule());
  const drawShare = new Map(kept.indices.map((index, j) => [index, kept.shares[j]!]));
  // Sampling at T = 1 draws each candidate with its own share: nothing more to show.
  const showDraw = state.rule !== 'sample' || state.temperature !== 1;
  list.classList.toggle('with-draw', showDraw);
  m.candidates.forEach((candidate, i) => {
    const item = document.createElement('li');
    item.id = `candidate-${i}`;
    item.setAttribute('role', 'option');
    item.tabIndex = -1; // focusable by click or script; the list itself is the tab stop
    item.setAttribute('aria-selected', String(i === active));
    item.dataset.word = candidate.completion;
    item.dataset.index = String(i);
    if (candidate.completion === '') item.setAttribute('aria-disabled', 'true');
    const label = document.createElement('span');
    label.className = 'word';
    const typed = m.mode === 'words' ? candidate.text.slice(0, candidate.text.length - candidate.completion.length) : '';
    if (typed) label.appendChild(span('typed', visible(typed)));
    label.appendChild(span('rest', visible(m.mode === 'words' ? candidate.completion : candidate.text)));
    const pct = span('pct', percent(shares[i]!));
    const bar = span('bar', '');
    const fill = span('fill', '');
    fill.style.width = `${(100 * shares[i]!) / max}%`; // CSSOM, allowed by the CSP
    bar.appendChild(fill);
    item.append(label, pct, bar);
    const drawn = drawShare.get(i);
    if (drawn === undefined) item.classList.add('left-out');
    if (showDraw) item.appendChild(span('drawn', drawn === undefined ? '' : `draw ${percent(drawn)}`));
    item.setAttribute('aria-label', `${spoken(candidate.text)}, ${percent(shares[i]!)}${drawn === undefined ? ', left out by the rule' : `, drawn with ${percent(drawn)}`}`);
    list.appendChild(item);
  });
  list.setAttribute('aria-activedescendant', `candidate-${active}`);
  if (hadFocus) list.focus();
}

function setActive(index: number): void {
  if (!words || words.candidates.length === 0) return;
  active = Math.max(0, Math.min(words.candidates.length - 1, index));
  // When an option itself has the focus, the focus moves with the selection.
  const optionFocused = document.activeElement instanceof HTMLLIElement && el.candidates.contains(document.activeElement);
  el.candidates.querySelectorAll<HTMLLIElement>('[role="option"]').forEach((item) => {
    const selected = item.dataset.index === String(active);
    item.setAttribute('aria-selected', String(selected));
    if (selected) {
      item.scrollIntoView({ block: 'nearest' });
      if (optionFocused && document.activeElement !== item) item.focus();
    }
  });
  el.candidates.setAttribute('aria-activedescendant', `candidate-${active}`);
}

function insert(index: number): void {
  const candidate = words?.candidates[index];
  if (!words || !candidate || candidate.completion === '') return;
  vscode.postMessage({ type: 'insert', requestId: words.requestId, index, text: candidate.completion });
}

el.candidates.addEventListener('click', (event) => {
  const item = (event.target as Element | null)?.closest<HTMLLIElement>('li[role="option"]');
  if (!item) return;
  const index = Number(item.dataset.index);
  setActive(index);
  insert(index);
});

el.candidates.addEventListener('focusin', (event) => {
  const item = (event.target as Element | null)?.closest<HTMLLIElement>('li[role="option"]');
  if (item && item.dataset.index !== String(active)) setActive(Number(item.dataset.index));
});

el.candidates.addEventListener('keydown', (event) => {
  const count = words?.candidates.length ?? 0;
  if (count === 0) return;
  switch (event.key) {
    case 'ArrowDown': setActive(active + 1); break;
    case 'ArrowUp': setActive(active - 1); break;
    case 'Home': setActive(0); break;
    case 'End': setActive(count - 1); break;
    case 'PageDown': setActive(active + 5); break;
    case 'PageUp': setActive(active - 5); break;
    case 'Enter':
    case ' ':
      insert(active);
      break;
    default:
      return;
  }
  event.preventDefault();
});

el.modeWords.addEventListener('click', () => setMode('words'));
el.modeTokens.addEventListener('click', () => setMode('tokens'));
function setMode(mode: PanelMode): void {
  if (mode === state.mode) return;
  save({ mode });
  renderMode();
  vscode.postMessage({ type: 'setMode', mode });
}

el.temperature.addEventListener('input', () => {
  const t = Number(el.temperature.value);
  if (!Number.isFinite(t)) return;
  save({ temperature: Math.min(MAX_TEMPERATURE, Math.max(MIN_TEMPERATURE, t)) });
  renderTemperature();
  renderRuleControls();
  renderWords();
});

// ---- the document view ----

function bars(container: HTMLElement, rows: { label: string; count: number; className: string }[]): void {
  clear(container);
  const total = rows.reduce((a, r) => a + r.count, 0);
  const max = Math.max(1, ...rows.map((r) => r.count));
  for (const row of rows) {
    const item = document.createElement('div');
    item.className = 'bar-row';
    item.setAttribute('role', 'listitem');
    const bar = span('bar', '');
    const fill = span(`fill ${row.className}`, '');
    fill.style.width = `${(100 * row.count) / max}%`;
    bar.appendChild(fill);
    const share = total > 0 ? ` (${percent(row.count / total)})` : '';
    item.append(span('bar-label', row.label), bar, span('bar-count', `${row.count.toLocaleString('en-US')}${share}`));
    container.appendChild(item);
  }
}

function bitsLabel(bin: HistogramBin): string {
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return Number.isFinite(bin.toBits) ? `${f(bin.fromBits)}–${f(bin.toBits)} bits` : `≥ ${f(bin.fromBits)} bits`;
}

function renderDocument(m: DocumentViewMessage): void {
  el.documentStatus.textContent = `${m.fileName}${m.modelName ? ` · ${m.modelName}` : ''}`;
  clear(el.summary);
  const s = m.summary;
  const fmt = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
  const entries: [string, string][] = [
    ['Perplexity', fmt(s.perplexity, 2)],
    // Bytes and characters are the same count in ASCII text: then one line says both.
    ...(fmt(s.bitsPerByte, 3) === fmt(s.bitsPerChar, 3)
      ? [['Bits per byte (and per character)', fmt(s.bitsPerByte, 3)] as [string, string]]
      : [['Bits per byte', fmt(s.bitsPerByte, 3)] as [string, string], ['Bits per character', fmt(s.bitsPerChar, 3)] as [string, string]]),
    ['Mean surprisal', `${fmt(s.meanSurprisal, 2)} bits`],
    ['Tokens scored', `${s.scoredTokens.toLocaleString('en-US')} of ${m.tokenCount.toLocaleString('en-US')}`],
  ];
  for (const [term, value] of entries) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    el.summary.append(dt, dd);
  }
  bars(el.ranks, m.rankBuckets.map((b: RankBucket, i) => ({ label: b.label, count: b.count, className: `rank-${i}` })));
  bars(el.histogram, m.histogram.map((b, i) => ({ label: bitsLabel(b), count: b.count, className: `surprisal-${i}` })));
  renderSparkline(m.sparkline);
  el.exportCsv.disabled = false;
  el.exportJson.disabled = false;
}

function renderSparkline(points: readonly SparkPoint[]): void {
  spark = points;
  sparkIndex = Math.min(sparkIndex, Math.max(0, points.length - 1));
  clear(el.sparkline);
  el.sparkline.setAttribute('aria-valuemax', String(Math.max(0, points.length - 1)));
  if (points.length === 0) {
    el.sparkline.textContent = 'No scored tokens.';
    return;
  }
  const maxBits = Math.max(1, ...points.map((p) => p.bits));
  const width = Math.max(2, points.length);
  const height = 40;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('class', 'line');
  line.setAttribute('points', points.map((p, i) => `${i + 0.5},${(height - (p.bits / maxBits) * (height - 2) - 1).toFixed(2)}`).join(' '));
  const marker = document.createElementNS(SVG, 'line');
  marker.setAttribute('class', 'marker');
  marker.setAttribute('y1', '0');
  marker.setAttribute('y2', String(height));
  svg.append(line, marker);
  el.sparkline.appendChild(svg);
  moveSparkMarker();
}

function moveSparkMarker(): void {
  const marker = el.sparkline.querySelector('.marker');
  const point = spark[sparkIndex];
  if (!marker || !point) return;
  marker.setAttribute('x1', String(sparkIndex + 0.5));
  marker.setAttribute('x2', String(sparkIndex + 0.5));
  el.sparkline.setAttribute('aria-valuenow', String(sparkIndex));
  el.sparkline.setAttribute('aria-valuetext', `token ${point.tokenIndex + 1}: ${point.bits.toFixed(1)} bits`);
}

function revealSpark(index: number): void {
  const point = spark[index];
  if (point) vscode.postMessage({ type: 'reveal', tokenIndex: point.tokenIndex });
}

el.sparkline.addEventListener('click', (event) => {
  if (spark.length === 0) return;
  const rect = el.sparkline.getBoundingClientRect();
  const x = (event.clientX - rect.left) / Math.max(1, rect.width);
  sparkIndex = Math.max(0, Math.min(spark.length - 1, Math.floor(x * spark.length)));
  moveSparkMarker();
  revealSpark(sparkIndex);
});

el.sparkline.addEventListener('keydown', (event) => {
  if (spark.length === 0) return;
  const step = event.shiftKey ? 10 : 1;
  switch (event.key) {
    case 'ArrowRight': sparkIndex = Math.min(spark.length - 1, sparkIndex + step); break;
    case 'ArrowLeft': sparkIndex = Math.max(0, sparkIndex - step); break;
    case 'Home': sparkIndex = 0; break;
    case 'End': sparkIndex = spark.length - 1; break;
    case 'Enter':
    case ' ':
      revealSpark(sparkIndex);
      break;
    default:
      return;
  }
  event.preventDefault();
  moveSparkMarker();
});

el.exportCsv.addEventListener('click', () => vscode.postMessage({ type: 'export', format: 'csv' }));
el.exportJson.addEventListener('click', () => vscode.postMessage({ type: 'export', format: 'json' }));

function renderLegend(m: LegendMessage): void {
  clear(el.legend);
  if (m.mode === 'difference') {
    el.legendNote.textContent = `${m.enabled ? '' : '(off) '}colour = bits the second model needed for each word, minus the first's`;
    for (const entry of m.entries) {
      const item = document.createElement('li');
      const sample = span(`swatch difference-${entry.step < 0 ? `m${-entry.step}` : entry.step > 0 ? `p${entry.step}` : '0'}`, 'ab');
      sample.setAttribute('aria-hidden', 'true');
      item.append(sample, span('legend-label', `${entry.label}${entry.step === 0 ? ' (uncoloured)' : ''}`));
      el.legend.appendChild(item);
    }
    return;
  }
  const what = m.mode === 'rank' ? `rank of each ${m.granularity} among the model's predictions` : `surprisal of each ${m.granularity}`;
  el.legendNote.textContent = `${m.enabled ? '' : '(off) '}colour = ${what}`;
  for (const entry of m.entries) {
    const item = document.createElement('li');
    const sample = span(`swatch ${m.mode === 'rank' ? 'rank' : 'surprisal'}-${entry.step}`, 'ab');
    sample.setAttribute('aria-hidden', 'true');
    item.append(sample, span('legend-label', `${entry.label}${entry.step === 0 ? ' (uncoloured)' : ''}`));
    el.legend.appendChild(item);
  }
}

function noDocument(reason: string): void {
  el.documentStatus.textContent = reason;
  clear(el.summary);
  clear(el.ranks);
  clear(el.histogram);
  spark = [];
  clear(el.sparkline);
  el.exportCsv.disabled = true;
  el.exportJson.disabled = true;
}

// ---- generation ----

function currentRule(): GenerationRule {
  return { kind: state.rule, k: state.k, p: state.p, temperature: state.temperature, seed: state.seed };
}

function renderRuleControls(): void {
  el.rule.value = state.rule;
  el.topK.value = String(state.k);
  el.topP.value = String(state.p);
  el.seed.value = String(state.seed);
  el.count.value = String(state.count);
  document.querySelectorAll<HTMLElement>('.rule-k').forEach((e) => { e.hidden = state.rule !== 'topK'; });
  document.querySelectorAll<HTMLElement>('.rule-p').forEach((e) => { e.hidden = state.rule !== 'topP'; });
  document.querySelectorAll<HTMLElement>('.rule-seed').forEach((e) => { e.hidden = state.rule === 'greedy'; });
  const t = state.temperature.toFixed(2);
  el.ruleNote.textContent = {
    greedy: 'Greedy: always the most probable candidate (the temperature does not matter).',
    sample: `Sampling: a candidate drawn with its share at temperature ${t} (p^(1/T), renormalised over the list).`,
    topK: `Top-k: the ${state.k} most probable candidates, renormalised at temperature ${t}, one drawn.`,
    topP: `Top-p: the fewest most probable candidates whose share at temperature ${t} reaches ${state.p}, renormalised, one drawn.`,
  }[state.rule] + (state.rule === 'greedy' ? '' : ` Seed ${state.seed}: the same seed from the same text draws the same words.`) + ' Dimmed candidates above are left out by the rule.';
}

function readRuleControls(): void {
  const value = (input: HTMLInputElement, fallback: number) => (Number.isFinite(Number(input.value)) && input.value !== '' ? Number(input.value) : fallback);
  save({
    rule: RULE_KINDS.includes(el.rule.value as GenerationRuleKind) ? (el.rule.value as GenerationRuleKind) : 'greedy',
    k: Math.min(100, Math.max(1, Math.floor(value(el.topK, state.k)))),
    p: Math.min(1, Math.max(0.01, value(el.topP, state.p))),
    seed: Math.min(0xffffffff, Math.max(0, Math.floor(value(el.seed, state.seed)))),
    count: Math.min(200, Math.max(1, Math.floor(value(el.count, state.count)))),
  });
  renderRuleControls();
  renderWords();
}

for (const input of [el.rule, el.topK, el.topP, el.seed, el.count]) input.addEventListener('change', readRuleControls);
el.step.addEventListener('click', () => vscode.postMessage({ type: 'generate', count: 1, rule: currentRule() }));
el.generate.addEventListener('click', () => vscode.postMessage({ type: 'generate', count: state.count, rule: currentRule() }));
el.stop.addEventListener('click', () => vscode.postMessage({ type: 'stopGeneration' }));
el.undoStep.addEventListener('click', () => vscode.postMessage({ type: 'undoStep' }));
el.clearHistory.addEventListener('click', () => vscode.postMessage({ type: 'clearHistory' }));

function renderGeneration(m: GenerationMessage): void {
  el.step.disabled = m.running;
  el.generate.disabled = m.running;
  el.stop.disabled = !m.running;
  el.undoStep.disabled = m.running || m.steps.length === 0;
  el.clearHistory.disabled = m.steps.length === 0;
  el.generateStatus.textContent = m.running ? `Generating… ${m.remaining} to go.` : m.message;
  clear(el.draw);
  if (m.lastDraw) {
    el.draw.appendChild(span('label', 'Last step drew from:'));
    for (const c of m.lastDraw.candidates) el.draw.appendChild(span(c.chosen ? 'chosen' : '', `${visible(c.text)} ${percent(c.share)}`));
  }
  const body = el.history.tBodies[0]!;
  clear(body);
  m.steps.forEach((row, i) => {
    const tr = document.createElement('tr');
    const bits = -Math.log2(row.prob);
    const cells = [String(i + 1), visible(row.text), percent(row.prob), percent(row.share), `#${row.rank}`,
      Number.isFinite(row.entropyBits) ? `${row.entropyBits.toFixed(2)} bits` : '–', `${row.kept} of ${row.listed}`, bits.toFixed(2)];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
  renderHistorySpark(m.steps.map((row) => -Math.log2(row.prob)));
}

/** The surprisal of each generated word, in order. */
function renderHistorySpark(bits: readonly number[]): void {
  clear(el.historySpark);
  if (bits.length === 0) return;
  const max = Math.max(1, ...bits);
  const width = Math.max(2, bits.length);
  const height = 30;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('class', 'line');
  line.setAttribute('points', bits.map((b, i) => `${bits.length === 1 ? 1 : i * ((width - 1) / (bits.length - 1)) + 0.5},${(height - (b / max) * (height - 2) - 1).toFixed(2)}`).join(' '));
  svg.appendChild(line);
  el.historySpark.appendChild(svg);
}

// ---- messages from the host ----

window.addEventListener('message', (event: MessageEvent<ToPanel>) => {
  const message = event.data;
  switch (message?.type) {
    case 'words':
      if (message.mode !== state.mode) return; // an answer for the mode just switched away from
      if (words?.requestId !== message.requestId) active = 0;
      words = message;
      renderWords();
      return;
    case 'status':
      el.status.textContent = message.message;
      el.status.dataset.state = message.state;
      // The list shown is for an older cursor position until the new one arrives.
      el.candidates.setAttribute('aria-busy', String(message.state === 'working' || message.state === 'loading'));
      if (message.state === 'noEditor') {
        words = undefined;
        renderWords();
      }
      return;
    case 'document':
      renderDocument(message);
      return;
    case 'noDocument':
      noDocument(message.reason);
      return;
    case 'legend':
      renderLegend(message);
      return;
    case 'generation':
      renderGeneration(message);
      return;
  }
});

renderMode();
renderTemperature();
renderRuleControls();
noDocument('');
vscode.postMessage({ type: 'ready', mode: state.mode });
