// Parser and consistency checks for the hover text, shared by the extension-host suite
// (Markdown from vscode.executeHoverProvider) and the UI suite (innerText of .monaco-hover).
// No `vscode` import: plain Node.
'use strict';
const assert = require('assert');

const NUM = '([0-9]+(?:\\.[0-9]+)?(?:e-?[0-9]+)?)';
/** Half a unit in the last displayed place: "12.3" → 0.05, "0.051" → 0.0005, "5.1e-5" → 5e-7. */
function halfUlp(s) {
  const m = /^[0-9]*(?:\.([0-9]+))?(?:e(-?[0-9]+))?$/i.exec(String(s).trim());
  if (!m) return 0;
  const decimals = m[1] ? m[1].length : 0;
  const exponent = m[2] ? Number(m[2]) : 0;
  return 0.5 * Math.pow(10, exponent - decimals);
}

/**
 * Parses the hover into numbers; every field is null when absent. The hover's layout
 * (src/core/hoverText.ts): a headline with the word (or token), its probability and bits;
 * "Rank #n · Entropy e bits" of the prediction at the word's first token; "Top
 * alternatives" (lines "#i token p%"); the panel link; then one "Token t · p% · b bits ·
 * ln p = x · i of n" line per token of the word. probability, surprisal and logprob are the
 * first token's (the one rank, entropy and the alternatives are about); word is the headline.
 */
function parseHover(text) {
  // Markdown escapes (the extension escapes every ASCII punctuation character in tokens).
  const plain = text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
  const lines = plain.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const percentAndBits = (line) => {
    const m = line ? new RegExp(`(<\\s*)?${NUM}\\s*%\\W+${NUM}\\s*bits`).exec(line.replace(/\*\*/g, '')) : null;
    return m ? { probability: { value: Number(m[2]), text: m[2], lessThan: Boolean(m[1]) }, surprisal: { value: Number(m[3]), text: m[3], lessThan: false } } : null;
  };
  const tokenLine = lines.find((l) => /^Token\b/.test(l));
  const token = percentAndBits(tokenLine);
  const headline = percentAndBits(lines[0]);
  const entropy = new RegExp(`Entropy[^0-9\\n]*?${NUM}\\s*bits`, 'i').exec(plain);
  const rank = /Rank[^#\n]*#\s*([0-9][0-9,]*)/i.exec(plain);
  const altIndex = plain.search(/Top alternatives/i);
  const alternatives = [];
  if (altIndex >= 0) {
    const section = plain.slice(altIndex).split('\n').slice(1);
    for (const line of section) {
      // Links (e.g. a command URI with %-escapes) are not alternatives.
      if (/\]\(|command:/.test(line)) continue;
      if (!/^\s*#\d/.test(line)) {
        if (alternatives.length > 0) break;
        continue;
      }
      // The last percentage of a row: the probability comes after the token's text.
      const all = [...line.matchAll(new RegExp(`${NUM}\\s*%`, 'g'))];
      const m = all[all.length - 1];
      if (m) alternatives.push({ line: line.trim(), pct: Number(m[1]), text: m[1] });
    }
  }
  const lnp = tokenLine ? /ln\s*p\s*=\s*(-?[0-9]+(?:\.[0-9]+)?)/.exec(tokenLine) : null;
  return {
    word: headline,
    probability: token ? token.probability : null,
    surprisal: token ? token.surprisal : null,
    entropy: entropy ? { value: Number(entropy[1]), text: entropy[1] } : null,
    rank: rank ? Number(rank[1].replace(/,/g, '')) : null,
    logprob: lnp ? { value: Number(lnp[1]), text: lnp[1].replace(/^-/, '') } : null,
    hasAlternativesSection: altIndex >= 0,
    alternatives,
  };
}

/**
 * Checks a parsed hover for internal consistency; returns the parsed figures. An inference
 * server returns only its top-k, so there the entropy is "not reported" (`entropy: false`).
 */
function assertHoverConsistent(text, { entropy = true } = {}) {
  const h = parseHover(text);
  assert.ok(h.word, `hover lacks a headline "<word> · <n>% · <n> bits": ${text}`);
  assert.ok(h.probability, `hover lacks a "Token <t> · <n>% · <n> bits" line: ${text}`);
  assert.ok(h.surprisal, `hover lacks the token's surprisal: ${text}`);
  assert.ok(h.rank !== null, `hover lacks "Rank #<n>": ${text}`);
  if (entropy) assert.ok(h.entropy, `hover lacks "Entropy <n> bits": ${text}`);
  else assert.ok(!h.entropy && /entropy not reported/i.test(text), `a server's hover claims an entropy: ${text}`);
  assert.ok(h.hasAlternativesSection, `hover lacks a "Top alternatives" section: ${text}`);
  assert.ok(h.alternatives.length >= 1, `"Top alternatives" lists no percentages: ${text}`);

  const p = h.probability.value;
  assert.ok(p >= 0 && p <= 100, `probability ${p}% out of range`);
  assert.ok(Number.isInteger(h.rank) && h.rank >= 1, `rank ${h.rank} is not a positive integer`);
  if (entropy) assert.ok(h.entropy.value >= 0 && h.entropy.value <= 32, `entropy ${h.entropy.value} bits out of range`);

  // Surprisal must be -log2(probability), within the rounding of both displayed figures.
  if (!h.probability.lessThan && p > 0) {
    const pu = halfUlp(h.probability.text);
    const lo = Math.max(p - pu, 1e-12) / 100;
    const hi = Math.min(p + pu, 100) / 100;
    const su = halfUlp(h.surprisal.text) + 1e-9;
    const s = h.surprisal.value;
    assert.ok(
      s >= -Math.log2(hi) - su && s <= -Math.log2(lo) + su,
      `surprisal ${s} bits is not -log2(${p}%) = ${(-Math.log2(p / 100)).toFixed(3)} bits`,
    );
  }
  // The word holds the first token: it cannot be more probable (nor less surprising).
  assert.ok(h.word.surprisal.value >= h.surprisal.value - halfUlp(h.word.surprisal.text) - halfUlp(h.surprisal.text) - 1e-9, `word ${h.word.surprisal.value} bits < its first token's ${h.surprisal.value} bits`);
  // "ln p = …", when shown, is the same probability.
  if (h.logprob && !h.probability.lessThan) {
    const fromLn = Math.exp(h.logprob.value) * 100;
    const lnTol = fromLn * (Math.exp(halfUlp(h.logprob.text)) - 1);
    assert.ok(Math.abs(fromLn - p) <= halfUlp(h.probability.text) + lnTol + 1e-12, `probability ${p}% but ln p = ${h.logprob.value} (${fromLn}%)`);
  }
  // Alternatives: valid percentages, best first, not more than the whole distribution.
  const pcts = h.alternatives.map((a) => a.pct);
  let slack = 0;
  for (const a of h.alternatives) slack += halfUlp(a.text);
  for (const x of pcts) assert.ok(x >= 0 && x <= 100, `alternative percentage ${x} out of range`);
  for (let i = 1; i < pcts.length; i++) {
    assert.ok(pcts[i] <= pcts[i - 1] + 1e-9, `alternatives are not sorted by probability: ${pcts.join(', ')}`);
  }
  const sum = pcts.reduce((a, b) => a + b, 0);
  assert.ok(sum <= 100 + slack + 1e-9, `alternatives sum to ${sum}% > 100%`);
  // A token of rank n has at most n-1 candidates strictly more probable.
  const tol = halfUlp(h.probability.text) + Math.max(...h.alternatives.map((a) => halfUlp(a.text)));
  const better = pcts.filter((x) => x > p + tol).length;
  assert.ok(better <= h.rank - 1, `rank #${h.rank} but ${better} alternatives are more probable than ${p}%`);
  if (h.rank === 1) assert.ok(Math.abs(pcts[0] - p) <= tol + 1e-9 || h.probability.lessThan, `rank #1 token at ${p}% but the top alternative is ${pcts[0]}%`);
  return h;
}

module.exports = { parseHover, halfUlp, assertHoverConsistent };
