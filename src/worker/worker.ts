/**
 * The inference worker: owns the model, so tokenization and ONNX runs never touch the
 * extension host's thread. Requests run one at a time in arrival order; the host cancels
 * what it no longer needs.
 */
import { parentPort } from 'node:worker_threads';
import { LanguageModel } from '../core/engine';
import { OptimizedGraphCache } from '../core/optimizedGraphCache';
import { CancelledError, type DocumentScores } from '../core/types';
import { ModelFolderError, resolveModelVariant } from '../core/modelFolder';
import { nextWordDistribution } from '../core/nextWords';
import type { FromWorker, ToWorker, WorkerErrorInfo } from '../shared/workerProtocol';

const port = parentPort;
if (!port) throw new Error('worker.js must run in a worker thread');

/** How many documents' last scorings are kept for incremental re-scoring. */
const REMEMBERED_DOCUMENTS = 16;

let model: LanguageModel | null = null;
const lastScores = new Map<string, DocumentScores>();
const pending = new Set<number>();
const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function errorInfo(error: unknown): WorkerErrorInfo {
  if (error instanceof ModelFolderError) return { code: error.code, message: error.message };
  if (error instanceof CancelledError) return { code: 'cancelled', message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: message.split('\n')[0]! };
}

function requireModel(): LanguageModel {
  if (!model) throw Object.assign(new Error('No model is loaded'), { code: 'no-model' });
  return model;
}

function copyColumns(scores: DocumentScores): DocumentScores {
  return {
    ...scores,
    ids: scores.ids.slice(),
    starts: scores.starts.slice(),
    ends: scores.ends.slice(),
    logprobs: scores.logprobs.slice(),
    ranks: scores.ranks.slice(),
    entropies: scores.entropies.slice(),
    topIds: scores.topIds.slice(),
    topProbs: scores.topProbs.slice(),
  };
}

function columnBuffers(scores: DocumentScores): ArrayBuffer[] {
  return [scores.ids, scores.starts, scores.ends, scores.logprobs, scores.ranks, scores.entropies, scores.topIds, scores.topProbs].map(
    (column) => column.buffer as ArrayBuffer,
  );
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'load': {
      const previous = model;
      model = null;
      lastScores.clear();
      await previous?.dispose();
      const { modelPath, variant: requested } = message.settings;
      // A variant asked for is resolved first (a clear error when the folder lacks it); else the
      // folder's own choice is loaded and named afterwards, once the folder is known to be sound.
      const chosen = requested ? resolveModelVariant(modelPath, requested) : undefined;
      const loaded = await LanguageModel.load(modelPath, {
        threads: message.settings.threads,
        maxWindow: message.settings.maxWindow,
        graphCache: message.settings.graphCacheFolder ? new OptimizedGraphCache(message.settings.graphCacheFolder) : null,
        ...(chosen ? { graphFile: chosen.graphFile } : {}),
      });
      model = loaded;
      const { name, graphFile, bytes } = chosen ?? resolveModelVariant(modelPath);
      send({ type: 'loaded', id: message.id, result: { info: { ...loaded.info, variant: { name, graphFile, bytes } }, tokenTexts: loaded.tokenizer.displayTable() } });
      return;
    }
    case 'score': {
      const current = requireModel();
      const started = performance.now();
      const { settings } = message;
      const scores = await current.score(message.text, {
        topK: settings.topK,
        ...(settings.windowSize > 0 ? { windowSize: settings.windowSize } : {}),
        ...(settings.stride > 0 ? { stride: settings.stride } : {}),
        previous: lastScores.get(message.documentKey),
        cancellation: { get isCancelled() { return cancelled.has(message.id); } },
        onProgress: (scoredTokens, totalTokens) => send({ type: 'progress', id: message.id, scoredTokens, totalTokens }),
        ...(message.priority ? { priority: message.priority } : {}),
        onPartial: (partial) => {
          const copy = copyColumns(partial);
          const result = { documentKey: message.documentKey, version: message.version, scores: copy, reusedTokens: partial.reusedTokens, elapsedMs: performance.now() - started };
          send({ type: 'partial', id: message.id, result }, columnBuffers(copy));
        },
      });
      lastScores.delete(message.documentKey);
      lastScores.set(message.documentKey, scores);
      while (lastScores.size > REMEMBERED_DOCUMENTS) lastScores.delete(lastScores.keys().next().value!);
      // The originals stay here for the next incremental scoring; the host gets copies whose
      // buffers are transferred, so its thread never spends time deserialising them.
      const copy = copyColumns(scores);
      send(
        {
          type: 'scored',
          id: message.id,
          result: { documentKey: message.documentKey, version: message.version, scores: copy, reusedTokens: scores.reusedTokens, elapsedMs: performance.now() - started },
        },
        columnBuffers(copy),
      );
      return;
    }
    case 'nextWords': {
      const result = await nextWordDistribution(requireModel(), message.context, message.options, {
        get isCancelled() { return cancelled.has(message.id); },
      });
      send({ type: 'nextWords', id: message.id, result });
      return;
    }
    case 'forget':
      lastScores.delete(message.documentKey);
      send({ type: 'done', id: message.id });
      return;
    case 'cancel':
    case 'shutdown':
      return; // handled on arrival
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    if (pending.has(message.id)) cancelled.add(message.id);
    return;
  }
  if (message.type === 'shutdown') {
    for (const id of pending) cancelled.add(id);
    // After everything queued has stopped: no ONNX run is in flight once the sessions are
    // released, and closing the port lets the thread end on its own.
    queue = queue.then(async () => {
      await model?.dispose().catch(() => undefined);
      model = null;
      port.close();
    });
    return;
  }
  pending.add(message.id);
  const run = async () => {
    try {
      if (cancelled.has(message.id)) throw new CancelledError();
      await handle(message);
    } catch (error) {
      const info = (error as { code?: string }).code === 'no-model'
        ? { code: 'no-model' as const, message: (error as Error).message }
        : errorInfo(error);
      send({ type: 'error', id: message.id, error: info });
    } finally {
      pending.delete(message.id);
      cancelled.delete(message.id);
    }
  };
  // One request at a time, in order: a load finishes before the scoring queued after it.
  queue = queue.then(run);
});
