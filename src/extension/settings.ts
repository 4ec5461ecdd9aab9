/** One typed, read-only view of the extension's settings. */
import * as vscode from 'vscode';
import { REMOTE_APIS, type RemoteApiSetting } from '../core/remote/engines';
import { DEFAULT_MAX_SURPRISAL_BITS } from '../core/colorBins';

export const SECTION = 'surprisalLens';

export type ColorMode = 'surprisal' | 'rank';

export interface Settings {
  /** Absolute model folder, or '' for the bundled model. Machine-scoped. */
  readonly modelPath: string;
  /** Which ONNX file of the folder to load ('' = the folder's choice). Machine-scoped. */
  readonly modelVariant: string;
  /** Inference server that scores instead of the local model ('' = local). Machine-scoped, like the model folder. */
  readonly remoteUrl: string;
  /** The model to ask the server for ('' = the one it serves). */
  readonly remoteModel: string;
  readonly remoteApi: RemoteApiSetting;
  /** Windows of one document in flight to the server at once. */
  readonly remoteMaxConcurrentRequests: number;
  readonly threads: number;
  readonly maxWindow: number;
  /** Keep ONNX Runtime's optimized graphs between loads (in the extension's storage). */
  readonly cacheOptimizedGraphs: boolean;
  readonly windowSize: number;
  readonly stride: number;
  readonly topK: number;
  readonly debounceMs: number;
  readonly maxDocumentLength: number;
  readonly colorMode: ColorMode;
  /** 'theme' (contributed theme colours), 'viridis' or 'grayscale'. */
  readonly palette: 'theme' | 'viridis' | 'grayscale';
  /** Upper edges of the rank buckets (GLTR: 10, 100, 1000). */
  readonly rankThresholds: readonly [number, number, number];
  /** Surprisal (bits) at which the colour scale tops out. */
  readonly maxSurprisalBits: number;
  /** What the heatmap colours: words, tokens, or words in prose and tokens in code. */
  readonly heatmapGranularity: 'auto' | 'word' | 'token';
  readonly surprisingThresholdBits: number;
  readonly diagnosticsEnabled: boolean;
  readonly enabledLanguages: readonly string[];
  readonly excludedLanguages: readonly string[];
}

/** Keys whose change needs the model reloaded. */
export const MODEL_KEYS = ['modelPath', 'modelVariant', 'threads', 'maxWindow', 'cacheOptimizedGraphs', 'remote.url', 'remote.model', 'remote.api', 'remote.maxConcurrentRequests'] as const;
/** Keys whose change invalidates existing scores. */
export const SCORING_KEYS = ['windowSize', 'stride', 'topK'] as const;

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const int = (key: string, fallback: number, min: number, max: number) => {
    const value = c.get<number>(key, fallback);
    return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.round(value))) : fallback;
  };
  const thresholds = c.get<number[]>('heatmap.rankThresholds', [10, 100, 1000]);
  const sorted = Array.isArray(thresholds) && thresholds.length === 3 && thresholds.every((t) => Number.isFinite(t) && t >= 1)
    ? ([...thresholds].sort((a, b) => a - b) as [number, number, number])
    : ([10, 100, 1000] as [number, number, number]);
  // Machine scope means workspace values are ignored by VS Code; read the global value
  // explicitly anyway so a hostile workspace can never redirect the model.
  const modelPath = c.inspect<string>('modelPath')?.globalValue ?? '';
  const modelVariant = c.inspect<string>('modelVariant')?.globalValue ?? '';
  // The same for the server that receives the documents' text.
  const globalString = (key: string) => ((value) => (typeof value === 'string' ? value.trim() : ''))(c.inspect<string>(key)?.globalValue);
  const remoteApi = globalString('remote.api');
  return {
    modelPath: typeof modelPath === 'string' ? modelPath.trim() : '',
    modelVariant: typeof modelVariant === 'string' ? modelVariant.trim() : '',
    remoteUrl: globalString('remote.url'),
    remoteModel: globalString('remote.model'),
    remoteApi: (REMOTE_APIS as readonly string[]).includes(remoteApi) ? (remoteApi as RemoteApiSetting) : 'auto',
    remoteMaxConcurrentRequests: int('remote.maxConcurrentRequests', 4, 1, 32),
    threads: int('threads', 0, 0, 64),
    // 0: the model's context, bounded by the window's working memory (engine's OnnxCausalLm.windowSize).
    maxWindow: int('maxWindow', 0, 0, 131072),
    cacheOptimizedGraphs: c.get<boolean>('cacheOptimizedGraphs', true) !== false,
    windowSize: int('windowSize', 0, 0, 131072),
    stride: int('stride', 0, 0, 131072),
    topK: int('topK', 10, 1, 50),
    debounceMs: int('debounceMs', 300, 0, 10000),
    maxDocumentLength: int('maxDocumentLength', 300000, 1000, 50_000_000),
    colorMode: c.get<string>('heatmap.colorMode') === 'rank' ? 'rank' : 'surprisal',
    palette: ((p) => (p === 'viridis' || p === 'grayscale' ? p : 'theme'))(c.get<string>('heatmap.palette')),
    rankThresholds: sorted,
    maxSurprisalBits: Math.max(1, c.get<number>('heatmap.maxSurprisalBits', DEFAULT_MAX_SURPRISAL_BITS)),
    heatmapGranularity: ((g) => (g === 'word' || g === 'token' ? g : 'auto'))(c.get<string>('heatmap.granularity')),
    surprisingThresholdBits: Math.max(0, c.get<number>('surprisingThresholdBits', 10)),
    diagnosticsEnabled: c.get<boolean>('diagnostics.enabled', false),
    enabledLanguages: c.get<string[]>('enabledLanguages', ['*']),
    excludedLanguages: c.get<string[]>('excludedLanguages', []),
  };
}

export function affects(event: vscode.ConfigurationChangeEvent, keys: readonly string[]): boolean {
  return keys.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
}
