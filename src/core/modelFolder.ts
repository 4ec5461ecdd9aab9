/**
 * Reads a model folder in the Hugging Face / Optimum / Transformers.js layout and checks it
 * before anything heavy is loaded, so every way a folder can be broken gets its own message.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

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
  | 'context-invalid';

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
  readonly headDim: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
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
    headDim,
    bosTokenId: firstNumber(config.bos_token_id, generationConfig.bos_token_id),
    eosTokenId: firstNumber(config.eos_token_id, generationConfig.eos_token_id),
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
