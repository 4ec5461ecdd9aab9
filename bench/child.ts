/**
 * Child processes of the benchmark, each a fresh Node process hosting the real inference
 * worker (dist/worker.js through WorkerClient), so nothing is warm but the OS file cache.
 *
 *   cold   <model> <textFile> <threads>   time to 'load' and to the first 'scored' reply
 *   memory <model> <textFile> <threads>   peak RSS (VmHWM) after scoring the text
 *
 * Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerClient } from '../src/worker/workerClient';

const [mode, modelPath, textFile, threadsArg] = process.argv.slice(2);
const WORKER = join(__dirname, '..', 'dist', 'worker.js');

function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmHWM|VmRSS):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) / 1024;
  }
  return out;
}

(async () => {
  const text = readFileSync(textFile!, 'utf8');
  const settings = { topK: 10, windowSize: 0, stride: 0 };
  const before = procStatus();
  const t0 = performance.now();
  const client = new WorkerClient(WORKER);
  const loaded = await client.request<'load'>({ type: 'load', settings: { modelPath: modelPath!, threads: Number(threadsArg ?? 2), maxWindow: 1024 } });
  const t1 = performance.now();
  const scored = await client.request<'score'>({ type: 'score', documentKey: 'bench', version: 1, text, settings });
  const t2 = performance.now();
  const after = procStatus();
  const mem = process.memoryUsage();
  const result = {
    mode,
    loadMs: t1 - t0,
    firstScoresMs: t2 - t0,
    scoreMs: t2 - t1,
    workerScoreMs: scored.elapsedMs,
    tokens: scored.scores.tokenCount,
    vocab: loaded.info.vocabSize,
    rssBeforeMb: before.VmRSS,
    rssMb: after.VmRSS,
    hwmMb: after.VmHWM,
    heapUsedMb: mem.heapUsed / 2 ** 20,
    externalMb: mem.external / 2 ** 20,
  };
  await client.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
})().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
