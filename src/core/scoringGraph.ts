/**
 * Rewrites a causal-LM ONNX graph, in memory, so that it scores tokens itself:
 *
 * - the LM head (the MatMul producing `logits`) runs only on the last `logits_to_keep`
 *   positions of each sequence: a scoring window needs about half of its rows, a next-token
 *   prediction one, and the head is the largest matrix product of a small model;
 * - the statistics of the last `targets.shape[1]` rows (ln P of the target, its rank, the
 *   entropy, the top-k over the first `displayable` ids) are computed by extra nodes in the
 *   same session and thread pool, the same formulas as `media/score-head.onnx`, so no
 *   full-vocabulary logits row is copied into JavaScript to be analysed.
 *
 * Only the protobuf framing of the graph is touched (protobufjs's wire-level reader and
 * writer): the model's own nodes and weights are copied byte for byte, and the file on disk
 * is never changed, so any Hugging Face export whose head is a float32 MatMul gets the fast
 * path. Anything else (external weight files, other heads, old opsets) returns the reason,
 * and the engine uses the graph as it is.
 */
import { Reader, Writer } from 'protobufjs/minimal';

/** Names of the inputs and outputs the rewrite adds. */
export const SCORING = {
  keep: 'surprisal_lens.logits_to_keep',
  targets: 'surprisal_lens.targets',
  topK: 'surprisal_lens.top_k',
  displayable: 'surprisal_lens.displayable',
  logprob: 'surprisal_lens.logprob',
  rank: 'surprisal_lens.rank',
  entropyBits: 'surprisal_lens.entropy_bits',
  topLogprobs: 'surprisal_lens.top_logprobs',
  topIds: 'surprisal_lens.top_ids',
} as const;

export type ScoringRewrite = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

// Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto...).
const MODEL_OPSET_IMPORT = 8;
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const TENSOR_DATA_LOCATION = 14;
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const FLOAT = 1;
const INT64 = 7;

/** Opsets whose semantics the added nodes rely on (ReduceSum/Squeeze axes as inputs: 13+). */
const MIN_OPSET = 13;
const MAX_OPSET = 23;
const PREFIX = 'surprisal_lens/';

interface Field {
  readonly field: number;
  readonly wire: number;
  /** The whole field (tag + payload) in the source buffer. */
  readonly start: number;
  readonly end: number;
  /** The payload of a length-delimited field. */
  readonly payloadStart: number;
  readonly payloadEnd: number;
}

function readFields(bytes: Uint8Array, from = 0, to = bytes.length): Field[] {
  const reader = Reader.create(bytes.subarray(0, to));
  reader.pos = from;
  const fields: Field[] = [];
  while (reader.pos < to) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    let payloadStart = reader.pos;
    if (wire === WIRE_BYTES) {
      const length = reader.uint32();
      payloadStart = reader.pos;
      reader.pos += length;
      if (reader.pos > to) throw new Error('truncated protobuf field');
    } else {
      reader.skipType(wire);
    }
    fields.push({ field, wire, start, end: reader.pos, payloadStart, payloadEnd: reader.pos });
  }
  return fields;
}

const text = new TextDecoder();
const stringOf = (bytes: Uint8Array, f: Field) => text.decode(bytes.subarray(f.payloadStart, f.payloadEnd));
const varintOf = (bytes: Uint8Array, f: Field) => Reader.create(bytes.subarray(f.payloadStart, f.end)).uint32();

/** Adds the scoring inputs, nodes and outputs to a serialized ModelProto. */
export function addScoringOutputs(model: Uint8Array): ScoringRewrite {
  let modelFields: Field[];
  try {
    modelFields = readFields(model);
  } catch (error) {
    return { ok: false, reason: `not a readable ONNX model (${(error as Error).message})` };
  }
  const opset = defaultOpset(model, modelFields);
  if (opset === null || opset < MIN_OPSET || opset > MAX_OPSET) {
    return { ok: false, reason: `opset ${opset ?? 'unknown'} is outside ${MIN_OPSET}-${MAX_OPSET}` };
  }
  const graphField = modelFields.find((f) => f.field === MODEL_GRAPH && f.wire === WIRE_BYTES);
  if (!graphField) return { ok: false, reason: 'the model has no graph' };
  const graphFields = readFields(model, graphField.payloadStart, graphField.payloadEnd);

  let head: { field: Field; inputs: string[] } | null = null;
  const names = new Set<string>();
  for (const f of graphFields) {
    if (f.field === GRAPH_NODE) {
      const node = readFields(model, f.payloadStart, f.payloadEnd);
      const outputs = node.filter((n) => n.field === NODE_OUTPUT).map((n) => stringOf(model, n));
      outputs.forEach((name) => names.add(name));
      if (outputs.includes('logits')) {
        const op = node.find((n) => n.field === NODE_OP_TYPE);
        if (!op || stringOf(model, op) !== 'MatMul') return { ok: false, reason: `logits come from a ${op ? stringOf(model, op) : 'nameless'} node, not a MatMul` };
        head = { field: f, inputs: node.filter((n) => n.field === NODE_INPUT).map((n) => stringOf(model, n)) };
      }
    } else if (f.field === GRAPH_INITIALIZER) {
      if (readFields(model, f.payloadStart, f.payloadEnd).some((t) => t.field === TENSOR_DATA_LOCATION && varintOf(model, t) === 1)) {
        return { ok: false, reason: 'the weights are in an external data file' };
      }
    } else if (f.field === GRAPH_INPUT || f.field === GRAPH_OUTPUT) {
      const nameField = readFields(model, f.payloadStart, f.payloadEnd).find((v) => v.field === 1);
      if (nameField) names.add(stringOf(model, nameField));
      if (f.field === GRAPH_OUTPUT && nameField && stringOf(model, nameField) === 'logits' && outputElementType(model, f) !== FLOAT) {
        return { ok: false, reason: 'the logits are not float32' };
      }
    }
  }
  if (!head || head.inputs.length !== 2) return { ok: false, reason: 'no MatMul produces the logits' };
  if ([...names].some((name) => name.startsWith(PREFIX) || name.startsWith('surprisal_lens.'))) {
    return { ok: false, reason: 'the graph already uses the scoring names' };
  }
  const [hidden] = head.inputs as [string, string];

  const graph = new Chunks();
  for (const f of graphFields) {
    graph.push(f === head.field ? lengthDelimited(GRAPH_NODE, rewireFirstInput(model, f, PREFIX + 'kept_hidden')) : model.subarray(f.start, f.end));
  }
  for (const added of scoringNodes(hidden)) graph.push(lengthDelimited(GRAPH_NODE, added));
  for (const constant of scoringConstants()) graph.push(lengthDelimited(GRAPH_INITIALIZER, constant));
  for (const name of [SCORING.keep, SCORING.targets, SCORING.topK, SCORING.displayable]) {
    graph.push(lengthDelimited(GRAPH_INPUT, valueInfo(name, INT64)));
  }
  for (const [name, type] of [[SCORING.logprob, FLOAT], [SCORING.rank, FLOAT], [SCORING.entropyBits, FLOAT], [SCORING.topLogprobs, FLOAT], [SCORING.topIds, INT64]] as const) {
    graph.push(lengthDelimited(GRAPH_OUTPUT, valueInfo(name, type)));
  }

  const out = new Chunks();
  for (const f of modelFields) {
    if (f === graphField) {
      out.push(Writer.create().uint32((MODEL_GRAPH << 3) | WIRE_BYTES).uint32(graph.length).finish());
      out.push(...graph.parts);
    } else {
      out.push(model.subarray(f.start, f.end));
    }
  }
  return { ok: true, bytes: out.concat() };
}

/** Encoded pieces kept apart until the end, so the weights are copied once. */
class Chunks {
  readonly parts: Uint8Array[] = [];
  length = 0;
  push(...parts: Uint8Array[]): void {
    for (const part of parts) {
      this.parts.push(part);
      this.length += part.length;
    }
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return Writer.create().uint32((field << 3) | WIRE_BYTES).bytes(payload).finish();
}

function defaultOpset(model: Uint8Array, modelFields: Field[]): number | null {
  for (const f of modelFields) {
    if (f.field !== MODEL_OPSET_IMPORT) continue;
    const entry = readFields(model, f.payloadStart, f.payloadEnd);
    const domain = entry.find((e) => e.field === 1);
    const version = entry.find((e) => e.field === 2 && e.wire === WIRE_VARINT);
    const name = domain ? stringOf(model, domain) : '';
    if ((name === '' || name === 'ai.onnx') && version) return varintOf(model, version);
  }
  return null;
}

/** ValueInfoProto -> type (2) -> tensor_type (1) -> elem_type (1). */
function outputElementType(model: Uint8Array, valueInfo: Field): number | null {
  const type = readFields(model, valueInfo.payloadStart, valueInfo.payloadEnd).find((f) => f.field === 2);
  const tensor = type && readFields(model, type.payloadStart, type.payloadEnd).find((f) => f.field === 1);
  const elem = tensor && readFields(model, tensor.payloadStart, tensor.payloadEnd).find((f) => f.field === 1);
  return elem ? varintOf(model, elem) : null;
}

/** The node's bytes with its first input renamed. */
function rewireFirstInput(model: Uint8Array, node: Field, input: string): Uint8Array {
  const parts = new Chunks();
  let first = true;
  for (const f of readFields(model, node.payloadStart, node.payloadEnd)) {
    if (f.field === NODE_INPUT && first) {
      parts.push(Writer.create().uint32((NODE_INPUT << 3) | WIRE_BYTES).string(input).finish());
      first = false;
    } else {
      parts.push(model.subarray(f.start, f.end));
    }
  }
  return parts.concat();
}

type Attribute = readonly [name: string, value: number];

function node(op: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Attribute[] = []): Uint8Array {
  const writer = Writer.create();
  for (const input of inputs) writer.uint32((NODE_INPUT << 3) | WIRE_BYTES).string(input);
  for (const output of outputs) writer.uint32((NODE_OUTPUT << 3) | WIRE_BYTES).string(output);
  writer.uint32((3 << 3) | WIRE_BYTES).string(PREFIX + outputs[0]!.replace(PREFIX, '') + '_node');
  writer.uint32((NODE_OP_TYPE << 3) | WIRE_BYTES).string(op);
  for (const [name, value] of attributes) {
    // AttributeProto: name (1), i (3), type (20) = INT (2).
    const attribute = Writer.create().uint32((1 << 3) | WIRE_BYTES).string(name).uint32(3 << 3).int64(value).uint32(20 << 3).int32(2).finish();
    writer.uint32((5 << 3) | WIRE_BYTES).bytes(attribute);
  }
  return writer.finish();
}

function tensor(name: string, type: typeof FLOAT | typeof INT64, dims: readonly number[], raw: Uint8Array): Uint8Array {
  const writer = Writer.create();
  for (const dim of dims) writer.uint32(1 << 3).int64(dim);
  writer.uint32(2 << 3).int32(type);
  writer.uint32((8 << 3) | WIRE_BYTES).string(name);
  writer.uint32((9 << 3) | WIRE_BYTES).bytes(raw);
  return writer.finish();
}

const int64s = (values: readonly bigint[]) => new Uint8Array(BigInt64Array.from(values).buffer);
const float32 = (value: number) => new Uint8Array(Float32Array.of(value).buffer);

function valueInfo(name: string, elemType: number): Uint8Array {
  const tensorType = Writer.create().uint32(1 << 3).int32(elemType).finish();
  const type = Writer.create().uint32((1 << 3) | WIRE_BYTES).bytes(tensorType).finish();
  return Writer.create().uint32((1 << 3) | WIRE_BYTES).string(name).uint32((2 << 3) | WIRE_BYTES).bytes(type).finish();
}

const c = (name: string) => PREFIX + name;

function scoringConstants(): Uint8Array[] {
  return [
    tensor(c('axis1'), INT64, [1], int64s([1n])),
    tensor(c('zero_i'), INT64, [1], int64s([0n])),
    tensor(c('one_i'), INT64, [1], int64s([1n])),
    // Slice's open end: far past any sequence or vocabulary length.
    tensor(c('end'), INT64, [1], int64s([1n << 62n])),
    tensor(c('zero_f'), FLOAT, [], float32(0)),
    tensor(c('one_f'), FLOAT, [], float32(1)),
    tensor(c('inv_ln2'), FLOAT, [], float32(1 / Math.LN2)),
  ];
}

/**
 * The added nodes. `hidden` is the LM head's input ([batch, sequence, hidden]); the head
 * itself is rewired to read `kept_hidden`. Formulas as in scripts/make_score_head.py; the
 * row maximum comes from TopK(k = 1) because ReduceMax changed its signature in opset 18.
 */
function scoringNodes(hidden: string): Uint8Array[] {
  return [
    node('Reshape', [SCORING.keep, c('one_i')], [c('keep_1d')]),
    node('Neg', [c('keep_1d')], [c('keep_start')]),
    // Keep 0 starts at 0: every position, the Hugging Face meaning of logits_to_keep = 0.
    node('Slice', [hidden, c('keep_start'), c('end'), c('axis1')], [c('kept_hidden')]),
    // The rows to analyse: the last targets.shape[1] of each sequence's logits.
    node('Shape', [SCORING.targets], [c('targets_shape')]),
    node('Gather', [c('targets_shape'), c('axis1')], [c('scored_rows')], [['axis', 0]]),
    node('Neg', [c('scored_rows')], [c('scored_start')]),
    node('Slice', ['logits', c('scored_start'), c('end'), c('axis1')], [c('scored_logits')]),
    node('Flatten', [c('scored_logits')], [c('rows')], [['axis', 2]]),
    node('Flatten', [SCORING.targets], [c('targets_2d')], [['axis', 2]]),
    node('TopK', [c('rows'), c('one_i')], [c('row_max'), c('row_argmax')], [['axis', 1]]),
    node('Sub', [c('rows'), c('row_max')], [c('shifted')]),
    node('Exp', [c('shifted')], [c('exp')]),
    node('ReduceSum', [c('exp'), c('axis1')], [c('sum_exp')], [['keepdims', 1]]),
    node('Log', [c('sum_exp')], [c('log_z')]),
    node('Sub', [c('shifted'), c('log_z')], [c('logprobs')]),
    // Entropy (nats) = log Z - E[shifted]; a -inf logit's 0 * -inf counts as 0.
    node('Greater', [c('exp'), c('zero_f')], [c('positive')]),
    node('Mul', [c('exp'), c('shifted')], [c('exp_shifted_raw')]),
    node('Where', [c('positive'), c('exp_shifted_raw'), c('zero_f')], [c('exp_shifted')]),
    node('ReduceSum', [c('exp_shifted'), c('axis1')], [c('sum_exp_shifted')], [['keepdims', 1]]),
    node('Div', [c('sum_exp_shifted'), c('sum_exp')], [c('mean_shifted')]),
    node('Sub', [c('log_z'), c('mean_shifted')], [c('entropy_nats')]),
    node('Mul', [c('entropy_nats'), c('inv_ln2')], [c('entropy_bits_2d')]),
    node('Squeeze', [c('entropy_bits_2d'), c('axis1')], [SCORING.entropyBits]),
    node('GatherElements', [c('logprobs'), c('targets_2d')], [c('target_logprob_2d')], [['axis', 1]]),
    node('Squeeze', [c('target_logprob_2d'), c('axis1')], [SCORING.logprob]),
    // Rank = 1 + ids with a strictly larger logit.
    node('GatherElements', [c('rows'), c('targets_2d')], [c('target_logit')], [['axis', 1]]),
    node('Greater', [c('rows'), c('target_logit')], [c('above')]),
    node('Cast', [c('above')], [c('above_f')], [['to', FLOAT]]),
    node('ReduceSum', [c('above_f'), c('axis1')], [c('above_count')], [['keepdims', 0]]),
    node('Add', [c('above_count'), c('one_f')], [SCORING.rank]),
    node('Slice', [c('logprobs'), c('zero_i'), SCORING.displayable, c('axis1')], [c('shown_logprobs')]),
    node('TopK', [c('shown_logprobs'), SCORING.topK], [SCORING.topLogprobs, SCORING.topIds], [['axis', 1], ['largest', 1], ['sorted', 1]]),
  ];
}
