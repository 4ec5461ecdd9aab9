/**
 * Reads a model folder in the Hugging Face / Optimum / Transformers.js layout and checks it
 * before anything heavy is loaded, so every way a folder can be broken gets its own message.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { estimateParameters } from './modelDescription';

export type ModelFolderErrorCode =
  | 'folder-missing'
  | 'config-missing'
  | 'config-invalid'
  | 'tokenizer-missing'
  | 'tokenizer-invalid'
  | 'graph-missing'
  | 'graph-invalid'
  | 'graph-unsupported'
  | 'vocab-mismatch'
  | 'context-invalid'
  | 'variant-missing'
  | 'external-data-missing'
  | 'operator-unsupported'
  | 'memory-insufficient';

/** A model folder the engine cannot use; the message is one line, meant for the user. */
export class ModelFolderError extends Error {
  constructor(
    readonly code: ModelFolderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

/** Graph files looked for, in order of preference (Transformers.js / Optimum names). */
export const GRAPH_CANDIDATES = [
  'onnx/model.onnx',
  'onnx/decoder_model_merged.onnx',
  'model.onnx',
  'decoder_model_merged.onnx',
  'onnx/model_fp16.onnx',
  'onnx/decoder_model_merged_fp16.onnx',
  'onnx/model_quantized.onnx',
  'onnx/decoder_model_merged_quantized.onnx',
  'onnx/model_int8.onnx',
  'onnx/model_uint8.onnx',
  'onnx/model_q4.onnx',
  'onnx/model_q4f16.onnx',
  'onnx/decoder_model.onnx',
  'decoder_model.onnx',
] as const;

/** Upper bound on a believable context length; larger values mean a broken config. */
const MAX_CONTEXT_LENGTH = 10_000_000;

export interface ModelFolder {
  readonly path: string;
  readonly name: string;
  readonly graphPath: string;
  readonly config: ModelConfig;
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
}

export interface ModelConfig {
  readonly modelType: string;
  readonly vocabSize: number | undefined;
  readonly contextLength: number;
  readonly numLayers: number | undefined;
  readonly numKeyValueHeads: number | undefined;
  /** Query heads (more than numKeyValueHeads in GQA models). */
  readonly numAttentionHeads: number | undefined;
  readonly headDim: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  /** Estimated from the dimensions (`estimateParameters`). */
  readonly parameters: number | undefined;
}

export function readModelFolder(path: string, graphFile?: string): ModelFolder {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new ModelFolderError('folder-missing', `Model folder not found: ${path}`);
  }
  const configJson = readJson(path, 'config.json', 'config-missing', 'config-invalid');
  const tokenizerJson = readJson(path, 'tokenizer.json', 'tokenizer-missing', 'tokenizer-invalid');
  if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) {
    throw new ModelFolderError('tokenizer-invalid', `tokenizer.json in ${path} has no "model" section; it is not a Hugging Face tokenizer file.`);
  }
  const tokenizerConfig = existsSync(join(path, 'tokenizer_config.json'))
    ? readJson(path, 'tokenizer_config.json', 'tokenizer-missing', 'tokenizer-invalid')
    : {};
  const generationConfig = existsSync(join(path, 'generation_config.json'))
    ? readJson(path, 'generation_config.json', 'config-missing', 'config-invalid')
    : {};
  const config = parseModelConfig(configJson, generationConfig, tokenizerConfig, path);
  return {
    path,
    name: modelName(configJson, path),
    graphPath: findGraph(path, graphFile),
    config,
    tokenizerJson,
    tokenizerConfig,
  };
}

function readJson(folder: string, file: string, missing: ModelFolderErrorCode, invalid: ModelFolderErrorCode): Record<string, unknown> {
  const full = join(folder, file);
  if (!existsSync(full)) throw new ModelFolderError(missing, `${file} is missing from the model folder ${folder}`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(full, 'utf8'));
  } catch (error) {
    throw new ModelFolderError(invalid, `${file} in ${folder} is not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelFolderError(invalid, `${file} in ${folder} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function findGraph(folder: string, graphFile: string | undefined): string {
  const candidates = graphFile ? [graphFile] : GRAPH_CANDIDATES;
  for (const candidate of candidates) {
    const full = join(folder, candidate);
    if (existsSync(full) && statSync(full).isFile()) return full;
  }
  throw new ModelFolderError(
    'graph-missing',
    graphFile
      ? `ONNX graph ${graphFile} not found in ${folder}`
      : `No ONNX graph in ${folder}: looked for ${GRAPH_CANDIDATES.slice(0, 3).join(', ')} and quantized variants`,
  );
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (Array.isArray(value) && typeof value[0] === 'number') return value[0];
  }
  return undefined;
}

export function parseModelConfig(
  config: Record<string, unknown>,
  generationConfig: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  folder: string,
): ModelConfig {
  const text = (config.text_config ?? {}) as Record<string, unknown>;
  const pick = (...keys: string[]) => firstNumber(...keys.flatMap((k) => [config[k], text[k]]));
  const contextLength = pick('n_positions', 'max_position_embeddings', 'n_ctx', 'seq_length', 'max_sequence_length')
    ?? firstNumber(tokenizerConfig.model_max_length);
  if (contextLength === undefined || !Number.isInteger(contextLength) || contextLength < 2 || contextLength > MAX_CONTEXT_LENGTH) {
    throw new ModelFolderError(
      'context-invalid',
      `config.json in ${folder} gives an unusable context length (${String(contextLength)}); expected an integer from 2 to ${MAX_CONTEXT_LENGTH}`,
    );
  }
  const numHeads = pick('n_head', 'num_attention_heads');
  const hidden = pick('n_embd', 'hidden_size', 'd_model');
  const headDim = pick('head_dim') ?? (hidden !== undefined && numHeads ? hidden / numHeads : undefined);
  return {
    modelType: typeof config.model_type === 'string' ? config.model_type : 'unknown',
    vocabSize: pick('vocab_size'),
    contextLength,
    numLayers: pick('n_layer', 'num_hidden_layers', 'num_layers'),
    numKeyValueHeads: pick('num_key_value_heads', 'n_head_kv', 'multi_query_group_num') ?? numHeads,
    numAttentionHeads: numHeads,
    headDim,
    bosTokenId: firstNumber(config.bos_token_id, generationConfig.bos_token_id),
    eosTokenId: firstNumber(config.eos_token_id, generationConfig.eos_token_id),
    parameters: estimateParameters(config),
  };
}

function modelName(config: Record<string, unknown>, path: string): string {
  const nameOrPath = config._name_or_path;
  if (typeof nameOrPath === 'string' && nameOrPath.trim() !== '' && !nameOrPath.startsWith('/')) return nameOrPath;
  return basename(path.replace(/[\\/]+$/, '')) || path;
}

/**
 * The model used when the user names none: the trained default model shipped with the
 * extension, or the tiny test model in a checkout where the default was not built.
 */
export function bundledModelPath(extensionRoot: string): string {
  const trained = join(extensionRoot, 'models', 'default');
  return existsSync(join(trained, 'config.json')) ? trained : join(extensionRoot, 'models', 'tiny');
}

/** transformers.js's dtype names for the suffixes of `model{suffix}.onnx` (its `DEFAULT_DTYPE_SUFFIX_MAPPING`). */
const DTYPE_SUFFIXES: Readonly<Record<string, string>> = {
  '': 'fp32',
  _fp16: 'fp16',
  _quantized: 'q8',
  _int8: 'int8',
  _uint8: 'uint8',
  _q4: 'q4',
  _q4f16: 'q4f16',
  _bnb4: 'bnb4',
};

/** What each dtype is, for a picker's detail line. */
const DTYPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  fp32: 'float32 weights (the reference)',
  fp16: 'float16 weights, cache and logits',
  q8: '8-bit weights, dynamically quantized activations (MatMulInteger)',
  int8: '8-bit signed weights (MatMulInteger)',
  uint8: '8-bit unsigned weights (MatMulInteger)',
  q4: '4-bit weights (MatMulNBits)',
  q4f16: '4-bit weights in a float16 graph',
  bnb4: '4-bit NF4/FP4 weights (MatMulBnb4)',
};

/**
 * The order variants are listed in, which is the order the automatic choice follows
 * (GRAPH_CANDIDATES): fp32 first, the model's own probabilities, against which the others are
 * judged; then the most faithful of the smaller ones. Speed ranks them otherwise at 135M-0.5B
 * on this AVX-512 VNNI CPU (BENCHMARKS.md, Real-size models): q8 1.5-1.7x as fast as fp32,
 * q4 0.9x, fp16 and q4f16 0.2-0.7x; a user who prefers speed picks q8.
 */
export const AUTOMATIC_VARIANT_ORDER = ['fp32', 'merged fp32', 'fp16', 'merged fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;

/** One graph file of a model folder and what comes with it. */
export interface ModelVariant {
  /**
   * Short name: the transformers.js dtype for `onnx/model{suffix}.onnx` ('fp32', 'fp16', 'q8',
   * 'q4', 'q4f16'...), 'merged <dtype>' for Optimum's `decoder_model_merged{suffix}.onnx`, else
   * the file path. Unique within the folder; what `surprisalLens.modelVariant` holds.
   */
  readonly name: string;
  /** The graph file, relative to the folder (`LoadOptions.graphFile`). */
  readonly graphFile: string;
  /** The graph file and its external weight files (`{graph}_data`, `{graph}_data_1`...), relative to the folder. */
  readonly files: readonly string[];
  /** Total size of `files`. */
  readonly bytes: number;
  /** One line for a picker ("4-bit weights (MatMulNBits)"); empty for an unknown file. */
  readonly description: string;
}

/**
 * Every ONNX graph of a model folder (`onnx/*.onnx` and `*.onnx` at the top), in
 * `AUTOMATIC_VARIANT_ORDER` then by file name. Files the engine never loads as a causal LM
 * (Optimum's separate `decoder_with_past_model`) are left out.
 */
export function listModelVariants(folder: string): ModelVariant[] {
  const variants: ModelVariant[] = [];
  for (const dir of ['onnx', '']) {
    const full = join(folder, dir);
    if (!existsSync(full) || !statSync(full).isDirectory()) continue;
    const entries = readdirSync(full);
    for (const entry of entries.filter((e) => e.endsWith('.onnx')).sort()) {
      const graphFile = dir ? `${dir}/${entry}` : entry;
      if (!statSync(join(folder, graphFile)).isFile() || entry.startsWith('decoder_with_past_model')) continue;
      const dataPattern = new RegExp(`^${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_data(_\\d+)?$`);
      const dataFiles = entries.filter((e) => dataPattern.test(e)).sort(byChunkNumber).map((e) => (dir ? `${dir}/${e}` : e));
      const files = [graphFile, ...dataFiles];
      const bytes = files.reduce((sum, f) => sum + statSync(join(folder, f)).size, 0);
      const dtype = dtypeOf(entry);
      variants.push({ name: variantName(graphFile, dtype), graphFile, files, bytes, description: dtype ? DTYPE_DESCRIPTIONS[dtype.dtype] ?? '' : '' });
    }
  }
  const rank = (v: ModelVariant) => {
    const i = (AUTOMATIC_VARIANT_ORDER as readonly string[]).indexOf(v.name);
    return i < 0 ? AUTOMATIC_VARIANT_ORDER.length : i;
  };
  return variants.sort((a, b) => rank(a) - rank(b) || a.graphFile.localeCompare(b.graphFile));
}

/**
 * The variant to load: `requested` as a variant name or a graph file path relative to the
 * folder, or, when it is empty, the graph a load without `graphFile` picks (the first of
 * `GRAPH_CANDIDATES` present). A requested variant the folder lacks is an error naming
 * the ones it has, rather than a silent fallback to another file.
 */
export function resolveModelVariant(folder: string, requested?: string): ModelVariant {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ModelFolderError('folder-missing', `Model folder not found: ${folder}`);
  }
  const variants = listModelVariants(folder);
  const wanted = requested?.trim() ?? '';
  if (wanted !== '') {
    const found = variants.find((v) => v.name === wanted || v.graphFile === wanted.replace(/\\/g, '/'));
    if (found) return found;
    throw new ModelFolderError(
      'variant-missing',
      `The model folder ${folder} has no variant "${wanted}"; it has ${variants.map((v) => v.name).join(', ') || 'no ONNX graph'}`,
    );
  }
  const graphPath = findGraph(folder, undefined);
  const graphFile = graphPath.slice(folder.replace(/[\\/]+$/, '').length + 1).replace(/\\/g, '/');
  return variants.find((v) => v.graphFile === graphFile) ?? { name: graphFile, graphFile, files: [graphFile], bytes: statSync(graphPath).size, description: '' };
}

function dtypeOf(file: string): { dtype: string; merged: boolean } | null {
  const match = /^(model|decoder_model_merged)(.*)\.onnx$/.exec(file);
  if (!match) return null;
  const dtype = DTYPE_SUFFIXES[match[2]!];
  return dtype ? { dtype, merged: match[1] === 'decoder_model_merged' } : null;
}

function variantName(graphFile: string, dtype: { dtype: string; merged: boolean } | null): string {
  // Only the `onnx/` files carry the dtype names: a top-level model.onnx keeps its path so names stay unique.
  if (!dtype || !graphFile.startsWith('onnx/')) return graphFile;
  return dtype.merged ? `merged ${dtype.dtype}` : dtype.dtype;
}

function byChunkNumber(a: string, b: string): number {
  const n = (s: string) => Number(/_data_(\d+)$/.exec(s)?.[1] ?? 0);
  return n(a) - n(b);
}
