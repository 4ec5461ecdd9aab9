/** The inference worker as the esbuild bundle the extension ships, built for the reliability tests. */
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import type { CancellationSignal } from '../../src/core/backend';
import type { ScoreSettings } from '../../src/core/types';
import type { WorkerClient } from '../../src/worker/workerClient';

const ROOT = join(__dirname, '..', '..');

/** Builds src/worker/worker.ts into the ignored out/ folder (own file name per caller, so test files running in parallel do not race). */
export function buildWorker(name: string, entry = join(ROOT, 'src', 'worker', 'worker.ts')): string {
  const outfile = join(ROOT, 'out', 'test', `${name}.js`);
  buildSync({
    entryPoints: [entry],
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], outfile, logLevel: 'error',
  });
  return outfile;
}

export const SMALL_WINDOW: ScoreSettings = { topK: 5, windowSize: 64, stride: 32 };

/** A cancellation signal the test fires by hand (the shape of `vscode.CancellationToken`). */
export function manualSignal(): CancellationSignal & { cancel(): void } {
  const listeners: (() => void)[] = [];
  const signal = {
    isCancellationRequested: false,
    onCancellationRequested(listener: () => void) {
      listeners.push(listener);
      return { dispose() {} };
    },
    cancel() {
      signal.isCancellationRequested = true;
      for (const l of listeners) l();
    },
  };
  return signal;
}

/** The worker with a test-only `test-gc` request (see gcWorkerEntry.ts). */
export function buildGcWorker(name: string): string {
  return buildWorker(name, join(__dirname, 'gcWorkerEntry.ts'));
}

export interface WorkerHeap {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

/** Collects the worker's garbage (a worker built by buildGcWorker) and returns its heap figures. */
export function collectWorkerGarbage(client: WorkerClient): Promise<WorkerHeap> {
  return client.request({ type: 'test-gc' } as never) as unknown as Promise<WorkerHeap>;
}

/** The Worker object behind a client (private; read to prove it was not replaced). */
export function workerOf(client: WorkerClient): unknown {
  return (client as unknown as { worker: unknown }).worker;
}
