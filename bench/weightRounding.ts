/**
 * How far two exports of the same model score apart token by token: used to measure the
 * default model's weights rounded to float16 precision (models/recipe/round_weights.py)
 * against the unrounded export, on the parity fixture's held-out text.
 *
 *   git show 11ba275:models/default/onnx/model.onnx > /tmp/unrounded/onnx/model.onnx  # plus the folder's JSON files
 *   node --import tsx bench/weightRounding.ts /tmp/unrounded models/default
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LanguageModel } from '../src/core/engine';

async function scoreWith(folder: string, text: string) {
  const model = await LanguageModel.load(folder, { threads: 2 });
  try {
    return await model.score(text);
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const [reference, candidate] = process.argv.slice(2);
  if (!reference || !candidate) throw new Error('usage: weightRounding.ts <reference folder> <candidate folder>');
  const fixture = JSON.parse(readFileSync(join(__dirname, '..', 'test', 'fixtures', 'models', 'default-parity.json'), 'utf8')) as { documents: { text: string }[] };
  const text = fixture.documents.map((d) => d.text).join('\n');
  const a = await scoreWith(reference, text);
  const b = await scoreWith(candidate, text);
  let max = 0;
  let sum = 0;
  let ranks = 0;
  for (let i = 0; i < a.tokenCount; i++) {
    const d = Math.abs(a.logprobs[i]! - b.logprobs[i]!);
    max = Math.max(max, d);
    sum += d;
    if (a.ranks[i] !== b.ranks[i]) ranks++;
  }
  console.log(`${a.tokenCount} tokens: max |delta ln p| ${max.toFixed(5)}, mean ${(sum / a.tokenCount).toFixed(6)}, ranks differing ${ranks}; bits/byte ${a.summary.bitsPerByte.toFixed(4)} vs ${b.summary.bitsPerByte.toFixed(4)}`);
}

void main();
