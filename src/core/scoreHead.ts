/**
 * Per-row statistics of a logits matrix (log-prob and rank of the actual token, entropy,
 * top-k) computed by a tiny ONNX graph, `media/score-head.onnx` (made by
 * scripts/make_score_head.py). ONNX Runtime's vectorised exp/reduce/top-k kernels do in a
 * few milliseconds what JavaScript loops over the vocabulary take tens of milliseconds for.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

export interface RowStatistics {
  readonly logprobs: Float32Array;
  readonly ranks: Float32Array;
  readonly entropyBits: Float32Array;
  /** rows x k, most likely first. */
  readonly topLogprobs: Float32Array;
  readonly topIds: BigInt64Array;
  readonly k: number;
}

/** Finds media/score-head.onnx beside the bundle (dist/) or the sources (src/core/). */
export function findScoreHead(from: string = __dirname): string | null {
  let dir = from;
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'media', 'score-head.onnx');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

export class ScoreHead {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(path: string, intraOpThreads: number): Promise<ScoreHead> {
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
    });
    return new ScoreHead(session);
  }

  /**
   * Statistics of rows `[firstRow, firstRow + targets.length)` of `logits` (row-major,
   * `width` wide), row r's actual token being `targets[r - firstRow]`.
   */
  async run(logits: Float32Array, width: number, firstRow: number, targets: ArrayLike<number>, k: number, displayable: number): Promise<RowStatistics> {
    const rows = targets.length;
    const shownK = Math.min(k, displayable, width);
    const outputs = await this.session.run({
      logits: new ort.Tensor('float32', logits.subarray(firstRow * width, (firstRow + rows) * width), [rows, width]),
      targets: new ort.Tensor('int64', BigInt64Array.from(Array.from(targets, BigInt)), [rows]),
      k: new ort.Tensor('int64', BigInt64Array.of(BigInt(shownK)), [1]),
      displayable: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.min(displayable, width))), [1]),
    });
    return {
      logprobs: outputs.target_logprob!.data as Float32Array,
      ranks: outputs.rank!.data as Float32Array,
      entropyBits: outputs.entropy_bits!.data as Float32Array,
      topLogprobs: outputs.top_logprob!.data as Float32Array,
      topIds: outputs.top_ids!.data as BigInt64Array,
      k: shownK,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
