/**
 * Rewrites a causal-LM ONNX graph, in memory, so that it scores tokens itself:
 *
 * - the LM head (the MatMul, MatMulNBits or MatMulBnb4 producing `logits`) runs only on the
 *   last `logits_to_keep` positions of each sequence: a scoring window needs about half of
 *   its rows, a next-token prediction one, and the head is the largest matrix product of a
 *   small model; any other node producing the logits runs on every row and its output is cut;
 * - the statistics of those rows (ln P of the target, its rank, the entropy, the top-k) are
 *   computed by extra nodes in the same session and thread pool, the quantities of
 *   `media/score-head.onnx`, so no full-vocabulary logits row is copied into JavaScript.
 *
 * Only the protobuf framing of the graph is touched (protobufjs's wire-level reader and
 * writer): the model's own nodes and weights are copied byte for byte, straight from the
 * file into the one buffer handed to ONNX Runtime, and the file on disk is never changed,
 * so any Hugging Face export with float32 logits gets the fast path. Weights in external
 * data files stay there, named by their paths relative to the graph's folder, which the
 * session is then told (`session.model_external_initializers_file_folder_path`). Anything
 * else (float16 logits, opsets outside 13-23) returns the reason, and the engine uses the
 * graph as it is.
 *
 * (Optional inputs with default values inside the exported file would have spared the
 * rewrite, but onnxruntime-node neither lists nor accepts overridable initializers.)
 */
import { fstatSync, readSync } from 'node:fs';
import { Reader, Writer } from 'protobufjs/minimal';

/** Names of the inputs and outputs the rewrite adds. */
export const SCORING = {
  keep: 'surprisal_lens.logits_to_keep',
  targets: 'surprisal_lens.targets',
  topK: 'surprisal_lens.top_k',
  /** Ids from this one on are left out of the top-k (a padded vocabulary's rows the tokenizer cannot show). */
  displayable: 'surprisal_lens.displayable',
  logprob: 'surprisal_lens.logprob',
  rank: 'surprisal_lens.rank',
  entropyBits: 'surprisal_lens.entropy_bits',
  topLogprobs: 'surprisal_lens.top_logprobs',
  topIds: 'surprisal_lens.top_ids',
} as const;

/**
 * Heads the rewrite can cut to the kept rows: each takes the hidden states as its first input
 * and treats rows independently (float32 MatMul, and the 4-bit MatMulNBits and MatMulBnb4 of
 * q4 and bnb4 exports, whose weights are constants).
 */
const HEAD_OPS = new Set(['MatMul', 'MatMulNBits', 'MatMulBnb4']);

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
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const FLOAT = 1;
const INT64 = 7;

/** Opsets whose semantics the added nodes rely on (ReduceSum/Squeeze axes as inputs: 13+). */
const MIN_OPSET = 13;
const MAX_OPSET = 23;
const PREFIX = 'surprisal_lens/';

/**
 * Where the serialized model is read from: a file is read piece by piece, so the only full
 * copy in JavaScript is the rewritten graph handed to ONNX Runtime (the weights are copied
 * straight from the file into it), which keeps the peak memory of a load that of a plain one.
 */
export interface ByteSource {
  readonly length: number;
  /** Fills `target` with the bytes from `position` on. */
  readInto(target: Uint8Array, position: number): void;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { length: bytes.length, readInto: (target, position) => target.set(bytes.subarray(position, position + target.length)) };
}

/** A source over an open file descriptor (the caller closes it). */
export function fileSource(fd: number): ByteSource {
  return {
    length: fstatSync(fd).size,
    readInto(target, position) {
      for (let done = 0; done < target.length; ) {
        const read = readSync(fd, target, done, target.length - done, position + done);
        if (read === 0) throw new Error('the file ended early');
        done += read;
      }
    },
  };
}

interface Field {
  readonly field: number;
  readonly wire: number;
  /** The whole field (tag + payload) in the source. */
  readonly start: number;
  readonly end: number;
  /** The payload of a length-delimited field. */
  readonly payloadStart: number;
  readonly payloadEnd: number;
}

/** Longest field header: a tag and a length, varints of at most 5 and 10 bytes. */
const MAX_HEADER = 15;

/** The fields of the message in [from, to) of the source; payloads are skipped, not read. */
function readFields(source: ByteSource, from = 0, to = source.length): Field[] {
  const header = new Uint8Array(MAX_HEADER);
  const fields: Field[] = [];
  let position = from;
  while (position < to) {
    const view = header.subarray(0, Math.min(MAX_HEADER, to - position));
    source.readInto(view, position);
    const reader = Reader.create(view);
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    let payloadStart: number;
    let end: number;
    if (wire === WIRE_BYTES) {
      const length = reader.uint32();
      payloadStart = position + reader.pos;
      end = payloadStart + length;
    } else if (wire === WIRE_VARINT) {
      payloadStart = position + reader.pos;
      reader.skipType(wire);
      end = position + reader.pos;
    } else if (wire === 1 || wire === 5) {
      payloadStart = position + reader.pos;
      end = payloadStart + (wire === 1 ? 8 : 4);
    } else {
      throw new Error(`unexpected protobuf wire type ${wire}`);
    }
    if (field === 0 || end > to) throw new Error('truncated or corrupt protobuf');
    fields.push({ field, wire, start: position, end, payloadStart, payloadEnd: end });
    position = end;
  }
  return fields;
}

/** A small message (a node, a value info...) read whole, with its fields. */
function readMessage(source: ByteSource, f: Field): { bytes: Uint8Array; fields: Field[] } {
  const bytes = new Uint8Array(f.payloadEnd - f.payloadStart);
  source.readInto(bytes, f.payloadStart);
  return { bytes, fields: readFields(memorySource(bytes)) };
}

const text = new TextDecoder();
const stringOf = (bytes: Uint8Array, f: Field) => text.decode(bytes.subarray(f.payloadStart, f.payloadEnd));
const varintOf = (bytes: Uint8Array, f: Field) => Reader.create(bytes.subarray(f.payloadStart, f.end)).uint32();

/** One weight tensor stored outside the graph file (TensorProto.external_data). */
export interface ExternalTensor {
  /** The data file, relative to the graph file's folder. */
  readonly location: string;
  readonly offset: number;
  /** Bytes; -1 when the entry leaves it to the file's end. */
  readonly length: number;
}

/**
 * The external weights a serialized ModelProto refers to (its main graph's initializers, where
 * Optimum and transformers.js put them, merged decoders included). Only field headers and the
 * small external_data entries are read, so this is cheap even for a graph of gigabytes.
 */
export function externalTensors(model: Uint8Array | ByteSource): ExternalTensor[] {
  const source = model instanceof Uint8Array ? memorySource(model) : model;
  const graphField = readFields(source).find((f) => f.field === MODEL_GRAPH && f.wire === WIRE_BYTES);
  if (!graphField) return [];
  const found: ExternalTensor[] = [];
  for (const f of readFields(source, graphField.payloadStart, graphField.payloadEnd)) {
    if (f.field !== GRAPH_INITIALIZER) continue;
    const entries = readFields(source, f.payloadStart, f.payloadEnd).filter((t) => t.field === TENSOR_EXTERNAL_DATA && t.wire === WIRE_BYTES);
    if (entries.length === 0) continue;
    const values = new Map<string, string>();
    for (const entry of entries) {
      const { bytes, fields } = readMessage(source, entry);
      const key = fields.find((e) => e.field === 1);
      const value = fields.find((e) => e.field === 2);
      if (key && value) values.set(stringOf(bytes, key), stringOf(bytes, value));
    }
    const location = values.get('location');
    if (location === undefined) continue;
    found.push({ location, offset: Number(values.get('offset') ?? 0), length: values.has('length') ? Number(values.get('length')) : -1 });
  }
  return found;
}

/**
 * Adds the scoring inputs, nodes and outputs to a serialized ModelProto. With `weightsFile`
 * (the source's own file name), the large initializers stored inside the source are not
 * copied: each becomes an external-data reference to its bytes in that very file (offset and
 * length), so the rewritten graph is a few hundred kilobytes and ONNX Runtime reads the
 * weights from the file as it does for `model.onnx_data` (the session must be told the
 * file's folder).
 */
export function addScoringOutputs(model: Uint8Array | ByteSource, weightsFile?: string): ScoringRewrite {
  const source = model instanceof Uint8Array ? memorySource(model) : model;
  try {
    return rewrite(source, weightsFile);
  } catch (error) {
    return { ok: false, reason: `not a readable ONNX model (${(error as Error).message})` };
  }
}

function rewrite(source: ByteSource, weightsFile: string | undefined): ScoringRewrite {
  const modelFields = readFields(source);
  const opset = defaultOpset(source, modelFields);
  if (opset === null || opset < MIN_OPSET || opset > MAX_OPSET) {
    return { ok: false, reason: `opset ${opset ?? 'unknown'} is outside ${MIN_OPSET}-${MAX_OPSET}` };
  }
  const graphField = modelFields.find((f) => f.field === MODEL_GRAPH && f.wire === WIRE_BYTES);
  if (!graphField) return { ok: false, reason: 'the model has no graph' };
  const graphFields = readFields(source, graphField.payloadStart, graphField.payloadEnd);

  let head: { field: Field; bytes: Uint8Array; fields: Field[]; inputs: string[]; cutsBefore: boolean } | null = null;
  const names = new Set<string>();
  for (const f of graphFields) {
    if (f.field === GRAPH_NODE) {
      const node = readMessage(source, f);
      const outputs = node.fields.filter((n) => n.field === NODE_OUTPUT).map((n) => stringOf(node.bytes, n));
      outputs.forEach((name) => names.add(name));
      if (outputs.includes('logits')) {
        const op = node.fields.find((n) => n.field === NODE_OP_TYPE);
        const opType = op ? stringOf(node.bytes, op) : 'nameless';
        const inputs = node.fields.filter((n) => n.field === NODE_INPUT).map((n) => stringOf(node.bytes, n));
        const cutsBefore = HEAD_OPS.has(opType) && (opType === 'MatMul' ? inputs.length === 2 : inputs.length >= 3);
        head = { field: f, ...node, inputs, cutsBefore };
      }
    } else if (f.field === GRAPH_INPUT || f.field === GRAPH_OUTPUT) {
      const info = readMessage(source, f);
      const nameField = info.fields.find((v) => v.field === 1);
      const name = nameField ? stringOf(info.bytes, nameField) : '';
      names.add(name);
      if (f.field === GRAPH_OUTPUT && name === 'logits' && outputElementType(info.bytes, info.fields) !== FLOAT) {
        return { ok: false, reason: 'the logits are not float32' };
      }
    }
  }
  if (!head) return { ok: false, reason: 'no node produces the logits' };
  if ([...names].some((name) => name.startsWith(PREFIX) || name.startsWith('surprisal_lens.'))) {
    return { ok: false, reason: 'the graph already uses the scoring names' };
  }
  // A head whose rows are independent runs on the kept rows only (its input is cut);
  // any other node producing the logits (a dynamic-int8 head's final Mul, an If) runs on
  // every row and its output is cut, which still keeps the logits inside ONNX Runtime.
  const [hidden] = head.inputs as [string, ...string[]];
  const rewired = head.cutsBefore
    ? renameField(head.bytes, head.fields, head.fields.find((n) => n.field === NODE_INPUT)!, PREFIX + 'kept_hidden')
    : renameField(head.bytes, head.fields, head.fields.find((n) => n.field === NODE_OUTPUT && stringOf(head!.bytes, n) === 'logits')!, PREFIX + 'all_logits');

  // The new graph: the old fields as source ranges (the head node replaced), then the additions.
  const graph = new Parts();
  for (const f of graphFields) {
    if (f === head.field) graph.push(lengthDelimited(GRAPH_NODE, rewired));
    else if (f.field === GRAPH_INITIALIZER && weightsFile !== undefined) graph.append(initializerInPlace(source, f, weightsFile));
    else graph.pushRange(f.start, f.end);
  }
  for (const added of scoringNodes(head.cutsBefore ? { hidden } : { allLogits: PREFIX + 'all_logits' })) graph.push(lengthDelimited(GRAPH_NODE, added));
  for (const constant of scoringConstants()) graph.push(lengthDelimited(GRAPH_INITIALIZER, constant));
  for (const name of [SCORING.keep, SCORING.targets, SCORING.topK, SCORING.displayable]) {
    graph.push(lengthDelimited(GRAPH_INPUT, valueInfo(name, INT64)));
  }
  for (const [name, type] of [[SCORING.logprob, FLOAT], [SCORING.rank, FLOAT], [SCORING.entropyBits, FLOAT], [SCORING.topLogprobs, FLOAT], [SCORING.topIds, INT64]] as const) {
    graph.push(lengthDelimited(GRAPH_OUTPUT, valueInfo(name, type)));
  }

  const out = new Parts();
  for (const f of modelFields) {
    if (f === graphField) {
      out.push(Writer.create().uint32((MODEL_GRAPH << 3) | WIRE_BYTES).uint32(graph.length).finish());
      out.append(graph);
    } else {
      out.pushRange(f.start, f.end);
    }
  }
  return { ok: true, bytes: out.materialize(source) };
}

/** Initializers smaller than this stay inside the rewritten graph. */
const MIN_REFERENCED_BYTES = 4096;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;

/** An initializer field whose raw_data becomes a reference to where it lies in `file` (the source); others as they are. */
function initializerInPlace(source: ByteSource, f: Field, file: string): Parts {
  const parts = new Parts();
  const fields = readFields(source, f.payloadStart, f.payloadEnd);
  const raw = fields.find((t) => t.field === TENSOR_RAW_DATA && t.wire === WIRE_BYTES);
  if (!raw || raw.payloadEnd - raw.payloadStart < MIN_REFERENCED_BYTES || fields.some((t) => t.field === TENSOR_DATA_LOCATION || t.field === TENSOR_EXTERNAL_DATA)) {
    parts.pushRange(f.start, f.end);
    return parts;
  }
  const tensorParts = new Parts();
  for (const t of fields) if (t !== raw) tensorParts.pushRange(t.start, t.end);
  const entry = (key: string, value: string) => lengthDelimited(TENSOR_EXTERNAL_DATA, Writer.create().uint32((1 << 3) | WIRE_BYTES).string(key).uint32((2 << 3) | WIRE_BYTES).string(value).finish());
  tensorParts.push(entry('location', file));
  tensorParts.push(entry('offset', String(raw.payloadStart)));
  tensorParts.push(entry('length', String(raw.payloadEnd - raw.payloadStart)));
  tensorParts.push(Writer.create().uint32(TENSOR_DATA_LOCATION << 3).int32(1).finish());
  parts.push(Writer.create().uint32((GRAPH_INITIALIZER << 3) | WIRE_BYTES).uint32(tensorParts.length).finish());
  parts.append(tensorParts);
  return parts;
}

/** The pieces of the output: new bytes, or ranges of the source copied when materialised. */
class Parts {
  private readonly parts: (Uint8Array | readonly [number, number])[] = [];
  length = 0;
  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  pushRange(start: number, end: number): void {
    this.parts.push([start, end]);
    this.length += end - start;
  }
  append(other: Parts): void {
    this.parts.push(...other.parts);
    this.length += other.length;
  }
  materialize(source: ByteSource): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      if (part instanceof Uint8Array) {
        out.set(part, at);
        at += part.length;
      } else {
        source.readInto(out.subarray(at, at + part[1] - part[0]), part[0]);
        at += part[1] - part[0];
      }
    }
    return out;
  }
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return Writer.create().uint32((field << 3) | WIRE_BYTES).bytes(payload).finish();
}

function defaultOpset(source: ByteSource, modelFields: Field[]): number | null {
  for (const f of modelFields) {
    if (f.field !== MODEL_OPSET_IMPORT || f.wire !== WIRE_BYTES) continue;
    const entry = readMessage(source, f);
    const domain = entry.fields.find((e) => e.field === 1);
    const version = entry.fields.find((e) => e.field === 2 && e.wire === WIRE_VARINT);
    const name = domain ? stringOf(entry.bytes, domain) : '';
    if ((name === '' || name === 'ai.onnx') && version) return varintOf(entry.bytes, version);
  }
  return null;
}

/** ValueInfoProto -> type (2) -> tensor_type (1) -> elem_type (1). */
function outputElementType(bytes: Uint8Array, fields: Field[]): number | null {
  const source = memorySource(bytes);
  const type = fields.find((f) => f.field === 2);
  const tensor = type && readFields(source, type.payloadStart, type.payloadEnd).find((f) => f.field === 1);
  const elem = tensor && readFields(source, tensor.payloadStart, tensor.payloadEnd).find((f) => f.field === 1);
  return elem ? varintOf(bytes, elem) : null;
}

/** The node's bytes with the string field `target` (one of its inputs or outputs) replaced by `name`. */
function renameField(bytes: Uint8Array, fields: Field[], target: Field, name: string): Uint8Array {
  const parts = new Parts();
  for (const f of fields) {
    if (f === target) parts.push(Writer.create().uint32((f.field << 3) | WIRE_BYTES).string(name).finish());
    else parts.push(bytes.subarray(f.start, f.end));
  }
  return parts.materialize(memorySource(bytes));
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
    tensor(c('one_i'), INT64, [1], int64s([1n])),
    tensor(c('zero_i'), INT64, [1], int64s([0n])),
    // Slice's open end: far past any sequence length.
    tensor(c('end'), INT64, [1], int64s([1n << 62n])),
    tensor(c('one_f'), FLOAT, [], float32(1)),
    tensor(c('minus_inv_ln2'), FLOAT, [], float32(-1 / Math.LN2)),
    // Stands in for -inf log-probs in the entropy, so that 0 x -inf counts as 0.
    tensor(c('lowest_f'), FLOAT, [], float32(-3.4e38)),
  ];
}

/**
 * The added nodes. `hidden` is the LM head's input ([batch, sequence, hidden]); the head
 * itself is rewired to read `kept_hidden`. Every row of the kept logits is analysed, so a
 * caller feeds `targets` of shape [batch, logits_to_keep]. The full-vocabulary intermediates
 * are kept few (log-softmax, its exp, one product, one comparison): with four windows of
 * 129 rows each of them is 17 MB for an 8,192-token vocabulary.
 */
function scoringNodes(cut: { readonly hidden: string } | { readonly allLogits: string }): Uint8Array[] {
  return [
    node('Reshape', [SCORING.keep, c('one_i')], [c('keep_1d')]),
    node('Neg', [c('keep_1d')], [c('keep_start')]),
    // Keep 0 starts at 0: every position, the Hugging Face meaning of logits_to_keep = 0.
    'hidden' in cut
      ? node('Slice', [cut.hidden, c('keep_start'), c('end'), c('axis1')], [c('kept_hidden')])
      : node('Slice', [cut.allLogits, c('keep_start'), c('end'), c('axis1')], ['logits']),
    node('Flatten', ['logits'], [c('rows')], [['axis', 2]]),
    node('Flatten', [SCORING.targets], [c('targets_2d')], [['axis', 2]]),
    node('LogSoftmax', [c('rows')], [c('logprobs')], [['axis', 1]]),
    node('GatherElements', [c('logprobs'), c('targets_2d')], [c('target_logprob_2d')], [['axis', 1]]),
    node('Squeeze', [c('target_logprob_2d'), c('axis1')], [SCORING.logprob]),
    // Rank = 1 + ids with a strictly larger logit (logits, not log-probs: no rounding ties).
    node('GatherElements', [c('rows'), c('targets_2d')], [c('target_logit')], [['axis', 1]]),
    node('Greater', [c('rows'), c('target_logit')], [c('above')]),
    node('Cast', [c('above')], [c('above_f')], [['to', FLOAT]]),
    node('ReduceSum', [c('above_f'), c('axis1')], [c('above_count')], [['keepdims', 0]]),
    node('Add', [c('above_count'), c('one_f')], [SCORING.rank]),
    // Entropy (bits) = -sum p ln p / ln 2.
    node('Exp', [c('logprobs')], [c('probs')]),
    node('Max', [c('logprobs'), c('lowest_f')], [c('finite_logprobs')]),
    node('Mul', [c('probs'), c('finite_logprobs')], [c('p_log_p')]),
    node('ReduceSum', [c('p_log_p'), c('axis1')], [c('sum_p_log_p')], [['keepdims', 0]]),
    node('Mul', [c('sum_p_log_p'), c('minus_inv_ln2')], [SCORING.entropyBits]),
    // The top-k among the ids the tokenizer can show: a padded vocabulary's extra ids all come
    // last, so they are cut off rather than searched past (a search for k + hidden candidates
    // is a near-full sort when a tokenizer is much smaller than the logits).
    node('Reshape', [SCORING.displayable, c('one_i')], [c('displayable_1d')]),
    node('Slice', [c('logprobs'), c('zero_i'), c('displayable_1d'), c('axis1')], [c('shown_logprobs')]),
    node('TopK', [c('shown_logprobs'), SCORING.topK], [SCORING.topLogprobs, SCORING.topIds], [['axis', 1], ['largest', 1], ['sorted', 1]]),
  ];
}
