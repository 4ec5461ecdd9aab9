// Quick parity check of an exported model folder against its PyTorch reference, from Node.
// Usage: node models/recipe/check_onnx.mjs models/tiny models/tiny/reference.json
//    or: node models/recipe/check_onnx.mjs models/default test/fixtures/models/default-parity.json
// Checks: JS tokenizer ids == Python ids; ONNX log-probs == PyTorch (full pass, two chunks
// through the KV cache, and left-padded in a batch of two) for cases that fit one window.
import fs from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";

const [dir, refPath] = process.argv.slice(2);
const raw = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
// GPT-2 and Llama configs name the same sizes differently
const cfg = {
  ...raw,
  n_layer: raw.n_layer ?? raw.num_hidden_layers,
  n_head: raw.num_key_value_heads ?? raw.n_head ?? raw.num_attention_heads,
  head_dim: raw.head_dim ?? (raw.n_embd ?? raw.hidden_size) / (raw.n_head ?? raw.num_attention_heads),
  n_positions: raw.n_positions ?? raw.max_position_embeddings,
};
const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
);
const ref = JSON.parse(fs.readFileSync(refPath, "utf8"));
const session = await ort.InferenceSession.create(path.join(dir, "onnx", "model.onnx"));
const H = cfg.n_head, D = cfg.head_dim, V = cfg.vocab_size;

const i64 = (arr, dims) => new ort.Tensor("int64", BigInt64Array.from(arr.map(BigInt)), dims);

async function run(rows, masks, past, pastLen) {
  const B = rows.length, T = rows[0].length;
  const feeds = {
    input_ids: i64(rows.flat(), [B, T]),
    attention_mask: i64(masks.flat(), [B, pastLen + T]),
    position_ids: i64(masks.flatMap((m) => {
      let c = 0; const pos = m.map((x) => { c += x; return Math.max(c - 1, 0); });
      return pos.slice(pastLen);
    }), [B, T]),
  };
  for (let i = 0; i < cfg.n_layer; i++) {
    for (const kv of ["key", "value"]) {
      feeds[`past_key_values.${i}.${kv}`] = past ? past[`present.${i}.${kv}`]
        : new ort.Tensor("float32", new Float32Array(0), [B, H, 0, D]);
    }
  }
  return session.run(feeds);
}

function logprobsAt(logits, b, t, T, target) {
  const off = (b * T + t) * V;
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, logits[off + v]);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[off + v] - m);
  return logits[off + target] - m - Math.log(s);
}

let maxFull = 0, maxSplit = 0, maxPad = 0, idMismatch = 0, nTok = 0;
const cases = ref.cases ?? ref.documents;
for (const c of cases) {
  const ids = tok.encode(c.text).ids;
  if (JSON.stringify(ids) !== JSON.stringify(c.ids)) { idMismatch++; console.log("ID MISMATCH", c.name); }
  if (tok.decode(ids) !== c.text) console.log("ROUNDTRIP MISMATCH", c.name);
  if (c.ids.length + 1 > cfg.n_positions) continue;
  const seq = [0, ...c.ids];
  const T = seq.length;
  const full = await run([seq], [seq.map(() => 1)], null, 0);
  for (let t = 0; t < c.ids.length; t++) {
    maxFull = Math.max(maxFull, Math.abs(logprobsAt(full.logits.data, 0, t, T, c.ids[t]) - c.logprobs[t]));
  }
  nTok += c.ids.length;
  // two chunks through the KV cache
  const k = Math.floor(T / 2);
  const a = await run([seq.slice(0, k)], [seq.slice(0, k).map(() => 1)], null, 0);
  const b = await run([seq.slice(k)], [seq.map(() => 1)], a, k);
  for (let t = 0; t < c.ids.length; t++) {
    const lp = t < k ? logprobsAt(a.logits.data, 0, t, k, c.ids[t]) : logprobsAt(b.logits.data, 0, t - k, T - k, c.ids[t]);
    maxSplit = Math.max(maxSplit, Math.abs(lp - c.logprobs[t]));
  }
  if (seq.length + 3 > cfg.n_positions) continue;
  // left-padded batch of two: [pad*3 + seq, seq + 3 more tokens]
  const pad = 3;
  const rowA = [...Array(pad).fill(0), ...seq];
  const rowB = [...seq, 5, 6, 7];
  const mA = [...Array(pad).fill(0), ...seq.map(() => 1)];
  const mB = rowB.map(() => 1);
  const p = await run([rowA, rowB], [mA, mB], null, 0);
  for (let t = 0; t < c.ids.length; t++) {
    maxPad = Math.max(maxPad, Math.abs(logprobsAt(p.logits.data, 0, t + pad, T + pad, c.ids[t]) - c.logprobs[t]));
    maxPad = Math.max(maxPad, Math.abs(logprobsAt(p.logits.data, 1, t, T + pad, c.ids[t]) - c.logprobs[t]));
  }
}
console.log(JSON.stringify({ cases: cases.length, tokens: nTok, idMismatch, maxFull, maxSplit, maxPad }));
