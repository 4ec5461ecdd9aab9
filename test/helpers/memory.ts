/** Memory measurement for the reliability tests. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full garbage collection (exposed at run time, so the tests need no --expose-gc flag). */
const gcFunction = (globalThis as { gc?: () => void }).gc ?? (runInNewContext('gc') as () => void);

/** Collects garbage until the heap stops shrinking, and lets the worker threads' finalisers run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gcFunction();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const MB = 1024 * 1024;

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Peak resident set size of the process so far. */
  readonly maxRss: number;
}

export function sample(): MemorySample {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, maxRss: process.resourceUsage().maxRSS * 1024 };
}

export const mb = (bytes: number) => `${(bytes / MB).toFixed(bytes < 100 * MB ? 1 : 0)} MB`;
