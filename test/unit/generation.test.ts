/**
 * Generation rules against exact expected choices: greedy is the top candidate, top-k keeps
 * k, top-p keeps the fewest whose re-weighted mass reaches p, shares are renormalised, the
 * seeded generator repeats for a seed and differs across seeds, and draws follow the shares.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseCandidate,
  drawKept,
  keptCandidates,
  seededRandom,
  stepUniform,
  type GenerationRule,
} from '../../src/core/generation';
import { temperedShares } from '../../src/core/temperature';
import { parseFromPanel } from '../../src/shared/panelProtocol';

const rule = (overrides: Partial<GenerationRule>): GenerationRule => ({ kind: 'sample', k: 3, p: 0.9, temperature: 1, seed: 7, ...overrides });
const close = (a: number, b: number, label = '') => assert.ok(Math.abs(a - b) < 1e-12, `${label} ${a} vs ${b}`);

describe('generation rules', () => {
  // Deliberately unsorted, with a tie (0.1 twice) and a zero.
  const probs = [0.1, 0.4, 0.2, 0.1, 0.15, 0];

  it('greedy keeps only the most probable candidate, whatever the temperature and seed', () => {
    for (const temperature of [0.1, 1, 5]) {
      for (const seed of [0, 1, 99]) {
        const choice = chooseCandidate(probs, rule({ kind: 'greedy', temperature, seed }), 3)!;
        assert.equal(choice.index, 1);
        assert.equal(choice.rank, 1);
        assert.deepEqual(choice.kept, { indices: [1], shares: [1] });
      }
    }
  });

  it('sampling keeps every candidate with a probability, renormalised (zero never kept)', () => {
    const kept = keptCandidates(probs, rule({ kind: 'sample' }));
    assert.deepEqual(kept.indices, [1, 2, 4, 0, 3], 'most probable first, ties in list order, 0 left out');
    const total = 0.95;
    kept.indices.forEach((i, j) => close(kept.shares[j]!, probs[i]! / total, `index ${i}`));
  });

  it('sampling at a temperature draws from p^(1/T) renormalised', () => {
    const kept = keptCandidates(probs, rule({ kind: 'sample', temperature: 2 }));
    const tempered = temperedShares(probs, 2);
    kept.indices.forEach((i, j) => close(kept.shares[j]!, tempered[i]!, `index ${i}`));
  });

  it('top-k keeps exactly the k most probable, renormalised among themselves', () => {
    const kept = keptCandidates(probs, rule({ kind: 'topK', k: 2 }));
    assert.deepEqual(kept.indices, [1, 2]);
    close(kept.shares[0]!, 0.4 / 0.6);
    close(kept.shares[1]!, 0.2 / 0.6);
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topK', k: 50 })).indices, [1, 2, 4, 0, 3], 'k beyond the list keeps the list');
  });

  it('top-p keeps the fewest most probable whose mass reaches p', () => {
    // Shares over the list: 0.4/0.95 = 0.421, +0.2/0.95 = 0.632, +0.15/0.95 = 0.789, +0.1/0.95 = 0.895.
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topP', p: 0.4 })).indices, [1]);
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topP', p: 0.5 })).indices, [1, 2]);
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topP', p: 0.7 })).indices, [1, 2, 4]);
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topP', p: 0.8 })).indices, [1, 2, 4, 0]);
    assert.deepEqual(keptCandidates(probs, rule({ kind: 'topP', p: 1 })).indices, [1, 2, 4, 0, 3]);
    // Exactly reaching p is enough: [0.5, 0.3, 0.2] with p = 0.8 keeps two.
    assert.deepEqual(keptCandidates([0.5, 0.3, 0.2], rule({ kind: 'topP', p: 0.8 })).indices, [0, 1]);
    const kept = keptCandidates(probs, rule({ kind: 'topP', p: 0.5 }));
    close(kept.shares[0]! + kept.shares[1]!, 1);
    close(kept.shares[0]!, 0.4 / 0.6);
  });

  it('an empty or all-zero list keeps nothing and chooses nothing', () => {
    assert.deepEqual(keptCandidates([], rule({})), { indices: [], shares: [] });
    assert.equal(chooseCandidate([0, 0], rule({ kind: 'greedy' }), 0), undefined);
    assert.throws(() => drawKept({ indices: [], shares: [] }, 0.5), RangeError);
  });

  it('a draw picks by cumulative shares in kept order', () => {
    const kept = { indices: [4, 2, 7], shares: [0.5, 0.3, 0.2] };
    assert.equal(drawKept(kept, 0), 4);
    assert.equal(drawKept(kept, 0.4999), 4);
    assert.equal(drawKept(kept, 0.5), 2);
    assert.equal(drawKept(kept, 0.7999), 2);
    assert.equal(drawKept(kept, 0.8), 7);
    assert.equal(drawKept(kept, 0.99999999), 7);
  });
});

describe('seeded sampling', () => {
  it('the generator gives numbers in [0, 1), the same sequence for the same seed', () => {
    const a = seededRandom(12345);
    const b = seededRandom(12345);
    const c = seededRandom(12346);
    const seqA = Array.from({ length: 1000 }, a);
    assert.deepEqual(Array.from({ length: 1000 }, b), seqA);
    assert.notDeepEqual(Array.from({ length: 1000 }, c), seqA);
    for (const x of seqA) assert.ok(x >= 0 && x < 1);
    // Roughly uniform: each tenth of [0, 1) holds 100 +- 40 of 1000 draws.
    const deciles = new Array(10).fill(0);
    for (const x of seqA) deciles[Math.floor(x * 10)]++;
    for (const count of deciles) assert.ok(count > 60 && count < 140, `decile count ${count}`);
  });

  it('the draw for a step depends on the seed and the step only', () => {
    assert.equal(stepUniform(42, 3), stepUniform(42, 3));
    assert.notEqual(stepUniform(42, 3), stepUniform(42, 4));
    assert.notEqual(stepUniform(42, 3), stepUniform(43, 3));
    const steps = Array.from({ length: 200 }, (_, i) => stepUniform(9, i));
    assert.equal(new Set(steps).size, 200, 'consecutive steps draw different numbers');
  });

  it('same seed, same choices; another seed, other choices; frequencies follow the shares', () => {
    const probs = [0.3, 0.25, 0.2, 0.15, 0.1];
    const run = (seed: number) => Array.from({ length: 50 }, (_, step) => chooseCandidate(probs, rule({ kind: 'sample', seed }), step)!.index);
    assert.deepEqual(run(2024), run(2024));
    assert.notDeepEqual(run(2024), run(2025));
    const counts = new Array(5).fill(0);
    for (let step = 0; step < 5000; step++) counts[chooseCandidate(probs, rule({ kind: 'sample', seed: 1 }), step)!.index]++;
    probs.forEach((p, i) => assert.ok(Math.abs(counts[i] / 5000 - p) < 0.03, `candidate ${i}: ${counts[i]} of 5000 for p = ${p}`));
  });

  it('top-k sampling only ever picks kept candidates, and reports rank and share', () => {
    const probs = [0.05, 0.5, 0.3, 0.15];
    for (let step = 0; step < 100; step++) {
      const choice = chooseCandidate(probs, rule({ kind: 'topK', k: 2, seed: 5 }), step)!;
      assert.ok(choice.index === 1 || choice.index === 2);
      assert.equal(choice.rank, choice.index === 1 ? 1 : 2);
      close(choice.share, probs[choice.index]! / 0.8);
    }
  });
});

describe('generation messages from the webview', () => {
  it('are validated: the rule clamped to valid values, malformed ones refused', () => {
    const generate = (count: unknown, rule: unknown) => parseFromPanel({ type: 'generate', count, rule });
    assert.deepEqual(generate(5, { kind: 'topK', k: 1e9, p: 7, temperature: 1, seed: -5 }), { type: 'generate', count: 5, rule: { kind: 'topK', k: 100, p: 1, temperature: 1, seed: 0 } });
    assert.deepEqual(generate(1, { kind: 'topP', k: 0, p: 0, temperature: 0.5, seed: 3.7 }), { type: 'generate', count: 1, rule: { kind: 'topP', k: 1, p: 0.01, temperature: 0.5, seed: 3 } });
    assert.equal(generate(1, { kind: 'beam', k: 1, p: 1, temperature: 1, seed: 1 }), undefined);
    assert.equal(generate(1, { kind: 'greedy', k: '1', p: 1, temperature: 1, seed: 1 }), undefined);
    assert.equal(generate(1, { kind: 'greedy', k: 1, p: 1, temperature: NaN, seed: 1 }), undefined);
    assert.equal(generate(0, { kind: 'greedy', k: 1, p: 1, temperature: 1, seed: 1 }), undefined);
    assert.equal(generate(201, { kind: 'greedy', k: 1, p: 1, temperature: 1, seed: 1 }), undefined);
    assert.equal(generate(1.5, { kind: 'greedy', k: 1, p: 1, temperature: 1, seed: 1 }), undefined);
    assert.equal(generate(1, null), undefined);
    assert.deepEqual(parseFromPanel({ type: 'stopGeneration', extra: 1 }), { type: 'stopGeneration' });
    assert.deepEqual(parseFromPanel({ type: 'undoStep' }), { type: 'undoStep' });
    assert.deepEqual(parseFromPanel({ type: 'clearHistory' }), { type: 'clearHistory' });
  });
});
