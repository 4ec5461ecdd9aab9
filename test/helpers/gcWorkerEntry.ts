/**
 * The inference worker plus one test-only request: `{ type: 'test-gc' }` collects the
 * worker's garbage and answers with its heap figures (as a `nextWords` reply, which the
 * client resolves with the result). Used by the resource-hygiene tests to measure memory
 * without the worker's uncollected garbage.
 */
import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import '../../src/worker/worker';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

parentPort!.on('message', (message: { type: string; id: number }) => {
  if (message.type !== 'test-gc') return;
  gc();
  gc();
  const heap = getHeapStatistics();
  parentPort!.postMessage({ type: 'nextWords', id: message.id, result: { heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, external: heap.external_memory } });
});
