/**
 * The reference: the same model folder scored by transformers.js (@huggingface/transformers),
 * written the way a user of that library would: its tokenizer, `model.forward` per window,
 * its `log_softmax` per row and its `topk` op, with the same windows as our engine (BOS +
 * 255 tokens, stride 128 for a 256-context model) and the same outputs per token: ln P,
 * rank, entropy and the top-k ids and probabilities.
 */
import { basename, dirname, sep } from 'node:path';

// transformers.js is ESM; loaded lazily so that `npm run bench -- --no-reference` never pays for it.
type Tfjs = typeof import('@huggingface/transformers');

export interface ReferenceScores {
  readonly ids: Int32Array;
  readonly logprobs: Float64Array;
  readonly ranks: Int32Array;
  readonly entropies: Float32Array;
  readonly topIds: Int32Array;
  readonly topProbs: Float32Array;
}

export class ReferenceScorer {
  private constructor(
    private readonly tf: Tfjs,
    // Loose types on purpose: the generic loaders return wide unions.
    private readonly model: { forward(inputs: Record<string, unknown>): Promise<Record<string, unknown>>; dispose(): Promise<unknown> },
    private readonly tokenizer: { encode(text: string, options: { add_special_tokens: boolean }): number[] },
    private readonly bos: number,
  ) {}

  static async load(modelPath: string, threads: number): Promise<ReferenceScorer> {
    const tf = (await import('@huggingface/transformers')) as Tfjs;
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = dirname(modelPath) + sep;
    const name = basename(modelPath);
    const model = await tf.AutoModelForCausalLM.from_pretrained(name, {
      dtype: 'fp32',
      device: 'cpu',
      local_files_only: true,
      // Passed straight to onnxruntime-node's InferenceSession.create (models/session.js).
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
    });
    const tokenizer = await tf.AutoTokenizer.from_pretrained(name, { local_files_only: true });
    const config = (model as unknown as { config: { bos_token_id?: number } }).config;
    return new ReferenceScorer(tf, model as never, tokenizer as never, config.bos_token_id ?? 0);
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  async score(text: string, window: number, stride: number, k: number): Promise<ReferenceScores> {
    const { Tensor, log_softmax, topk } = this.tf;
    const ids = Int32Array.from(this.tokenize(text));
    const n = ids.length;
    const logprobs = new Float64Array(n).fill(NaN);
    const ranks = new Int32Array(n);
    const entropies = new Float32Array(n).fill(NaN);
    const topIds = new Int32Array(n * k).fill(-1);
    const topProbs = new Float32Array(n * k);
    const docPerWindow = window - 1;
    let start = 0;
    let scoredUpTo = 0;
    while (scoredUpTo < n) {
      const end = Math.min(start + docPerWindow, n);
      const seq = [this.bos, ...ids.subarray(start, end)];
      const input_ids = new Tensor('int64', BigInt64Array.from(seq, (x) => BigInt(x)), [1, seq.length]);
      const attention_mask = new Tensor('int64', new BigInt64Array(seq.length).fill(1n), [1, seq.length]);
      const out = (await this.model.forward({ input_ids, attention_mask })) as { logits: InstanceType<typeof Tensor> };
      const V = out.logits.dims[2]!;
      const data = out.logits.data as Float32Array;
      const first = scoredUpTo;
      // Rows predicting tokens first..end-1 (row r = window position r predicts r + 1).
      const rowFrom = first - start;
      const rows = end - first;
      const scored = new Tensor('float32', data.subarray(rowFrom * V, (rowFrom + rows) * V), [rows, V]);
      const [values, indices] = await topk(scored, k);
      const topV = values.data as Float32Array;
      const topI = indices.data as BigInt64Array;
      for (let r = 0; r < rows; r++) {
        const j = first + r;
        const row = data.subarray((rowFrom + r) * V, (rowFrom + r + 1) * V);
        const lsm = log_softmax(row);
        const target = ids[j]!;
        const lp = lsm[target]!;
        let greater = 0;
        let h = 0;
        for (let v = 0; v < V; v++) {
          const x = lsm[v]!;
          if (x > lp) greater++;
          h -= Math.exp(x) * x;
        }
        logprobs[j] = lp;
        ranks[j] = greater + 1;
        entropies[j] = h / Math.LN2;
        // topk returns logits; turn them into probabilities with the row's normaliser.
        const logZ = row[0]! - lsm[0]!;
        for (let q = 0; q < k; q++) {
          topIds[j * k + q] = Number(topI[r * k + q]!);
          topProbs[j * k + q] = Math.exp(topV[r * k + q]! - logZ);
        }
      }
      scoredUpTo = end;
      if (end === n) break;
      start += stride;
    }
    return { ids, logprobs, ranks, entropies, topIds, topProbs };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
