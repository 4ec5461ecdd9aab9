/** Minimal direct driver of the GPT-2 graphs (scratch): feeds for a batch of equal-length windows. */
import * as ort from 'onnxruntime-node';

export interface GraphShape { layers: number; heads: number; headDim: number }

export function feeds(shape: GraphShape, windows: ArrayLike<number>[], extra: Record<string, ort.Tensor> = {}): Record<string, ort.Tensor> {
  const B = windows.length, T = windows[0]!.length;
  const ids = new BigInt64Array(B * T), pos = new BigInt64Array(B * T);
  windows.forEach((w, b) => { for (let t = 0; t < T; t++) { ids[b * T + t] = BigInt(w[t]!); pos[b * T + t] = BigInt(t); } });
  const f: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    position_ids: new ort.Tensor('int64', pos, [B, T]),
    ...extra,
  };
  for (let i = 0; i < shape.layers; i++) for (const kv of ['key', 'value']) {
    f[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [B, shape.heads, 0, shape.headDim]);
  }
  return f;
}

export const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
