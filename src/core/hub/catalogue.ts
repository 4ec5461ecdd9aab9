/**
 * The curated models offered by "Download Model...", and which graph file each dtype means.
 * Sizes here are a guide for the pick list only: the download reads the repository's real
 * file list and sizes first (see MODEL-SOURCES.md: layouts change upstream).
 */
import { GRAPH_CANDIDATES } from '../modelFolder';

/** transformers.js dtypes whose graphs the CLI and the editor can ask for. */
export const DTYPES = ['q4', 'q4f16', 'q8', 'fp16', 'fp32'] as const;
export type Dtype = (typeof DTYPES)[number];

/** transformers.js dtype -> suffix of `onnx/model{suffix}.onnx` (MODEL-SOURCES.md). */
export const DTYPE_SUFFIX: Readonly<Record<Dtype, string>> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4', q4f16: '_q4f16' };

/** Used when neither the user nor the catalogue names a dtype: smallest that scores well first. */
export const DEFAULT_DTYPE_ORDER: readonly Dtype[] = ['q8', 'q4', 'fp16', 'q4f16', 'fp32'];

export interface CatalogueEntry {
  readonly repo: string;
  readonly label: string;
  readonly goodFor: string;
  /** Parameter count in millions. */
  readonly parametersM: number;
  readonly licence: string;
  /** Needs a token and the licence accepted on the Hub. */
  readonly gated: boolean;
  readonly recommendedDtype: Dtype;
  /** Approximate graph sizes in MB (1e6 bytes) per dtype the repository is known to offer. */
  readonly sizesMB: Readonly<Partial<Record<Dtype, number>>>;
  /** True where the sizes were reported for the repository; false where estimated from the parameter count. */
  readonly sizesReported: boolean;
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    repo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    label: 'SmolLM2 135M',
    goodFor: 'English prose, some code; small and fast',
    parametersM: 135,
    licence: 'Apache-2.0',
    gated: false,
    recommendedDtype: 'fp32',
    // Reported layout: no model_quantized.onnx.
    sizesMB: { fp32: 654, fp16: 327, q4: 200, q4f16: 134 },
    sizesReported: true,
  },
  {
    repo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    label: 'SmolLM2 360M',
    goodFor: 'English prose, some code',
    parametersM: 362,
    licence: 'Apache-2.0',
    gated: false,
    recommendedDtype: 'q4',
    sizesMB: { fp32: 1450, fp16: 725, q4: 390 },
    sizesReported: false,
  },
  {
    repo: 'onnx-community/Qwen2.5-0.5B-Instruct',
    label: 'Qwen2.5 0.5B',
    goodFor: 'multilingual prose and code',
    parametersM: 494,
    licence: 'Apache-2.0',
    gated: false,
    recommendedDtype: 'q8',
    sizesMB: { fp32: 1990, fp16: 997, q8: 512, q4: 786, q4f16: 483 },
    sizesReported: true,
  },
  {
    repo: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct',
    label: 'Qwen2.5 Coder 0.5B',
    goodFor: 'source code (many languages)',
    parametersM: 494,
    licence: 'Apache-2.0',
    gated: false,
    recommendedDtype: 'q8',
    // Weights in model.onnx_data; sizes as for Qwen2.5-0.5B, same architecture.
    sizesMB: { fp32: 1990, fp16: 997, q8: 512, q4: 786 },
    sizesReported: false,
  },
  {
    repo: 'onnx-community/Llama-3.2-1B-Instruct',
    label: 'Llama 3.2 1B',
    goodFor: 'multilingual prose (8 languages), code',
    parametersM: 1236,
    licence: 'Llama 3.2 Community License (accept it on the Hub)',
    gated: true,
    recommendedDtype: 'q4',
    sizesMB: { fp32: 4950, fp16: 2480, q8: 1540, q4: 1280 },
    sizesReported: false,
  },
  {
    repo: 'Xenova/gpt2',
    label: 'GPT-2 (124M)',
    goodFor: 'English web prose (2019); the classic baseline',
    parametersM: 124,
    licence: 'MIT',
    gated: false,
    recommendedDtype: 'fp32',
    sizesMB: { fp32: 653, fp16: 327, q8: 164 },
    sizesReported: false,
  },
];

export function catalogueEntry(repo: string): CatalogueEntry | undefined {
  return CATALOGUE.find((entry) => entry.repo.toLowerCase() === repo.toLowerCase());
}

/**
 * Graph file names a dtype may have in a repository, in order of preference: transformers.js'
 * `onnx/model{suffix}.onnx`, then the older Optimum merged-decoder name (Xenova/gpt2).
 * Only names the model loader looks for (GRAPH_CANDIDATES) are returned, so a downloaded
 * folder always loads, and a dtype the loader learns is offered without a change here.
 */
export function graphFilesFor(dtype: Dtype): string[] {
  const suffix = DTYPE_SUFFIX[dtype];
  const loadable = new Set<string>(GRAPH_CANDIDATES);
  return [`onnx/model${suffix}.onnx`, `onnx/decoder_model_merged${suffix}.onnx`].filter((file) => loadable.has(file));
}

/** The dtypes a repository really offers, from its file list (`siblings[].rfilename`). */
export function offeredDtypes(files: readonly string[]): Dtype[] {
  const present = new Set(files);
  return DTYPES.filter((dtype) => graphFilesFor(dtype).some((file) => present.has(file)));
}

/** The graph file chosen for a dtype, or undefined when the repository lacks it. */
export function graphFileIn(files: readonly string[], dtype: Dtype): string | undefined {
  const present = new Set(files);
  return graphFilesFor(dtype).find((file) => present.has(file));
}

/**
 * External weight files of a graph: `{graph}_data`, `{graph}_data_1`, ... (transformers.js
 * `use_external_data_format`). Taken from the file list rather than the config, so a count
 * that disagrees with the repository cannot leave a file behind.
 */
export function externalDataFiles(files: readonly string[], graphFile: string): string[] {
  const pattern = new RegExp(`^${escapeRegExp(graphFile)}_data(?:_\\d+)?$`);
  return files.filter((file) => pattern.test(file)).sort(naturalOrder);
}

export function defaultDtype(offered: readonly Dtype[], repo: string): Dtype | undefined {
  const recommended = catalogueEntry(repo)?.recommendedDtype;
  if (recommended && offered.includes(recommended)) return recommended;
  return DEFAULT_DTYPE_ORDER.find((dtype) => offered.includes(dtype));
}

export function isDtype(value: string): value is Dtype {
  return (DTYPES as readonly string[]).includes(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
