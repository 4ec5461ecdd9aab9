/**
 * How a model is named to a person: the Hub repository it was downloaded from, the name in
 * its config.json, or its folder; "default model" for the one the extension ships; and
 * its size in parameters, estimated from the dimensions in config.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export interface ModelDescription {
  /** "HuggingFaceTB/SmolLM2-135M-Instruct (q4)", "Surprisal Lens default model", "my-model". */
  readonly displayName: string;
  /** Estimated parameter count, or undefined when config.json lacks the dimensions. */
  readonly parameters: number | undefined;
}

/** The file a Hub download leaves in its folder (src/core/hub/store.ts), read for the repository id. */
const DOWNLOAD_MANIFEST = 'surprisal-lens-download.json';

export function describeModel(folder: string, bundledFolder: string | null, fallbackName: string): ModelDescription {
  const config = readJson(join(folder, 'config.json'));
  const parameters = config ? estimateParameters(config) : undefined;
  if (bundledFolder && resolve(folder) === resolve(bundledFolder)) return { displayName: 'Surprisal Lens default model', parameters };
  const manifest = readJson(join(folder, DOWNLOAD_MANIFEST));
  if (manifest && typeof manifest.repo === 'string') {
    const dtype = typeof manifest.dtype === 'string' ? ` (${manifest.dtype})` : '';
    return { displayName: `${manifest.repo}${dtype}`, parameters };
  }
  const nameOrPath = config?._name_or_path;
  if (typeof nameOrPath === 'string' && nameOrPath.trim() !== '' && !/^[/\\]|^[A-Za-z]:/.test(nameOrPath)) return { displayName: nameOrPath.trim(), parameters };
  const name = basename(folder.replace(/[\\/]+$/, ''));
  return { displayName: name || fallbackName, parameters };
}

/** "135M", "1.2B", "6.8M". */
export function formatParameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(count >= 1e10 ? 0 : 1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e7 ? 0 : 1)}M`;
  return `${Math.round(count / 1e3)}K`;
}

/**
 * Parameters of a decoder from its Hugging Face config: embeddings (and an untied LM head),
 * attention with grouped key/value heads, a gated (Llama, Qwen2) or plain (GPT-2) MLP.
 * Norms and biases are left out (well under 1%).
 */
export function estimateParameters(config: Record<string, unknown>): number | undefined {
  const num = (...keys: string[]) => {
    for (const key of keys) if (typeof config[key] === 'number' && Number.isFinite(config[key])) return config[key] as number;
    return undefined;
  };
  const hidden = num('hidden_size', 'n_embd', 'd_model');
  const layers = num('num_hidden_layers', 'n_layer', 'num_layers');
  const vocab = num('vocab_size');
  if (!hidden || !layers || !vocab) return undefined;
  const heads = num('num_attention_heads', 'n_head') ?? 1;
  const kvHeads = num('num_key_value_heads') ?? heads;
  const headDim = num('head_dim') ?? hidden / heads;
  const gated = typeof config.model_type === 'string' && config.model_type !== 'gpt2';
  const intermediate = num('intermediate_size', 'n_inner') ?? 4 * hidden;
  const attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim;
  const mlp = (gated ? 3 : 2) * hidden * intermediate;
  const tied = config.tie_word_embeddings !== false;
  const positions = config.model_type === 'gpt2' ? (num('n_positions') ?? 0) * hidden : 0;
  return vocab * hidden * (tied ? 1 : 2) + positions + layers * (attention + mlp);
}

function readJson(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
