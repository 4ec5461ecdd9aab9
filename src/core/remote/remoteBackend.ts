/**
 * A `ScoringBackend` over an inference server (vLLM, SGLang or TGI), for models too large
 * for the laptop. It produces the same `DocumentScores` columns as local scoring, with
 * ranges from `alignServerTokens` (exact, or an error), and fills what a server does not
 * report honestly: entropy NaN, rank 0 (unknown), no alternatives for TGI; `gaps` says which.
 *
 * Long documents are scored in windows of at most the server's context:
 * - vLLM scores token ids, so its windows are exactly local scoring's (engine.ts): a fixed
 *   grid of starts 0, stride, 2 x stride..., each window scoring its tokens after the first
 *   `window - stride`, with the BOS in front of each; a re-scoring after an edit keeps the
 *   tokens before the first changed token and runs only the windows from there on.
 * - SGLang and TGI score text, so windows are cut in the text (at a space where possible,
 *   sized from the characters per token measured so far) and joined where both windows'
 *   tokens share a boundary; each later window keeps at least about `window - stride`
 *   tokens of context before its first kept token. After an edit, the windows that end
 *   before the change (and would be sent exactly as before) are replayed from memory.
 *
 * Documents go only to the configured URL (redirects are refused, see http.ts). The next
 * word is listed as raw next tokens (one request); the word-level search that local scoring
 * runs needs dozens of model steps per request, which a server round trip makes too slow.
 */
import type { CancellationSignal, LoadedModel, ScoreCallbacks, ScoreJob, ScoringBackend } from '../backend';
import { tokenListDistribution } from '../nextWords';
import { summarise } from '../summary';
import {
  CancelledError,
  type DocumentScores,
  type ModelInfo,
  type NextWordDistribution,
  type NextWordOptions,
  type RemoteSource,
  type ScoredDocument,
  type ScoreGaps,
} from '../types';
import { alignServerTokens, looksSpecial, pieceDisplayText, piecesLookByteLevel } from './alignment';
import {
  isTooLong,
  probeApi,
  SglangApi,
  TgiApi,
  VllmApi,
  type Alternative,
  type PositionScore,
  type RemoteApi,
  type RemoteApiSetting,
  type TextToken,
} from './engines';
import { RemoteHttp, type RemoteHttpOptions } from './http';
import { RemoteError } from './remoteError';

export interface RemoteBackendOptions extends Omit<RemoteHttpOptions, 'baseUrl'> {
  /** The server's base URL; https unless it is this machine. */
  readonly url: string;
  /** The model to ask for; '' takes the one the server serves (the first, for vLLM). */
  readonly model?: string;
  readonly api?: RemoteApiSetting;
  /** Largest window in tokens when the scoring settings leave it to the model (default 4096). */
  readonly maxWindow?: number;
  /** Windows of one document in flight at once (default 4). */
  readonly maxInFlight?: number;
  /**
   * Told when the server stops answering (a request could not reach it) and,
   * checked every `recheckMs` (doubling up to a minute) from then on, when it answers again.
   */
  readonly onAvailability?: (available: boolean, message: string) => void;
  /** First wait before asking a silent server again; default 5 s. */
  readonly recheckMs?: number;
  /**
   * Asked before the first request that carries a document's text (probing the server
   * carries none): may the text go to this host? A refusal fails the call with
   * RemoteError('refused') and is asked again on the next call; a yes holds for this backend.
   */
  readonly allowSending?: (host: string, url: string) => Promise<boolean>;
}

export const DEFAULT_REMOTE_MAX_WINDOW = 4096;
const DEFAULT_MAX_IN_FLIGHT = 4;
const DEFAULT_RECHECK_MS = 5_000;
const MAX_RECHECK_MS = 60_000;
/** Documents whose previous scoring is kept for incremental re-scoring. */
const KEPT_DOCUMENTS = 16;
const DEFAULT_TOP_WORDS = 15;
/** A text window never shrinks below this many characters. */
const MIN_WINDOW_CHARS = 16;

const ENGINE_NAMES: Record<RemoteApi, string> = { 'openai-completions': 'vLLM', sglang: 'SGLang', tgi: 'TGI' };
const GAPS: Record<RemoteApi, ScoreGaps> = {
  'openai-completions': { noAlternatives: false, ranks: 'exact', noEntropy: true },
  sglang: { noAlternatives: false, ranks: 'top-k', noEntropy: true },
  tgi: { noAlternatives: true, ranks: 'none', noEntropy: true },
};

type Api = VllmApi | SglangApi | TgiApi;

interface Connection {
  readonly http: RemoteHttp;
  readonly api: Api;
  readonly info: ModelInfo;
  readonly source: RemoteSource;
}

/** A scoring kept per document: what the next edit's re-scoring may reuse (vLLM). */
interface KeptScoring {
  readonly scores: DocumentScores;
  /** vLLM: the tokens put before each window (a BOS). */
  readonly prefix?: readonly number[];
  /** SGLang and TGI: the text scored and how its windows went, to replay the unchanged ones. */
  readonly text?: string;
  readonly steps?: readonly TextWindowStep[];
  readonly built?: ColumnBuilder;
}

/** One window of a text-windowed scoring and the state after it. */
interface TextWindowStep {
  readonly from: number;
  readonly to: number;
  /** The characters asked for (after any halving) and where kept tokens started: what decided `to`. */
  readonly budget: number;
  readonly keepFromBefore: number;
  /** Tokens kept before this window's were appended (after going back to a shared boundary). */
  readonly truncatedTo: number;
  readonly countAfter: number;
  readonly keepFromAfter: number;
  readonly nextFrom: number;
  readonly charsPerTokenAfter: number;
}

/** Columns being filled, one token at a time. */
class ColumnBuilder {
  ids: number[] = [];
  starts: number[] = [];
  ends: number[] = [];
  scores: PositionScore[] = [];

  truncate(length: number): void {
    for (const column of [this.ids, this.starts, this.ends, this.scores]) column.length = length;
  }

  push(id: number, start: number, end: number, score: PositionScore): void {
    this.ids.push(id);
    this.starts.push(start);
    this.ends.push(end);
    this.scores.push(score);
  }
}

export class RemoteBackend implements ScoringBackend {
  private connecting: Promise<Connection> | null = null;
  private readonly tokenTexts = new Map<number, string>();
  /** Ids whose display text came from the document's own bytes (better than a text decoded alone). */
  private readonly displayed = new Set<number>();
  private readonly kept = new Map<string, KeptScoring>();
  /** Aborts every request when the backend is disposed. */
  private readonly lifetime = new AbortController();
  /** Whether `allowSending` said yes (asked once per backend). */
  private sendingAllowed = false;
  /** Set while the server does not answer; the timer asks it again. */
  private recheck: { timer: ReturnType<typeof setTimeout> | null; delay: number } | null = null;

  constructor(private readonly options: RemoteBackendOptions) {}

  load(signal?: CancellationSignal): Promise<LoadedModel> {
    return this.withSignal(signal, async (abort) => {
      const connection = await this.connect(abort);
      return { info: connection.info, tokenText: (id: number) => this.tokenTexts.get(id) ?? '' };
    });
  }

  score(job: ScoreJob, signal?: CancellationSignal, callbacks: ScoreCallbacks = {}): Promise<ScoredDocument> {
    const began = Date.now();
    return this.withSignal(signal, async (abort) => {
      const connection = await this.connect(abort);
      await this.askToSend(connection);
      const k = Math.max(1, Math.floor(job.settings.topK));
      // The asked window, up to the server's context (less the one token kept for a generated one).
      const window = Math.max(2, job.settings.windowSize ? Math.min(job.settings.windowSize, connection.info.contextLength - 1) : connection.info.windowSize);
      const stride = job.settings.stride || Math.floor(window / 2);
      const scores = connection.api instanceof VllmApi
        ? await this.scoreByIds(connection, connection.api, job, k, window, stride, abort, callbacks, began)
        : await this.scoreByText(connection, connection.api, job, k, window, stride, abort, callbacks);
      return { documentKey: job.documentKey, version: job.version, scores, reusedTokens: scores.reusedTokens, elapsedMs: Date.now() - began };
    });
  }

  nextWords(context: string, options: NextWordOptions, signal?: CancellationSignal): Promise<NextWordDistribution> {
    return this.withSignal(signal, async (abort) => {
      const connection = await this.connect(abort);
      await this.askToSend(connection);
      const k = Math.max(1, Math.floor(options.maxWords ?? DEFAULT_TOP_WORDS));
      const window = connection.info.windowSize;
      let top: Alternative[];
      let contextTokens: number;
      let truncated: boolean;
      if (connection.api instanceof VllmApi) {
        ({ top, contextTokens, truncated } = await this.nextByIds(connection.api, context, k, window, abort));
      } else {
        ({ top, contextTokens, truncated } = await this.nextByText(connection.api, context, k, window, abort));
      }
      const words = top.map((t) => {
        const text = t.text || this.tokenTexts.get(t.id) || '';
        if (t.text) this.remember(t.id, t.text);
        const insertable = text !== '' && !looksSpecial(text) && !text.includes('\uFFFD') && !/\\x[0-9A-F]{2}/.test(text);
        return { text, completion: insertable ? text : '', prob: Math.exp(t.logprob), tokens: [t.id] };
      });
      // A server returns only its top-k, so the entropy of the whole distribution is unknown.
      return tokenListDistribution(words, NaN, context, contextTokens, truncated);
    });
  }

  release(documentKey: string): void {
    this.kept.delete(documentKey);
  }

  async dispose(): Promise<void> {
    this.lifetime.abort();
    if (this.recheck?.timer) clearTimeout(this.recheck.timer);
    this.recheck = null;
    this.kept.clear();
    this.connecting = null;
  }

  private async askToSend(connection: Connection): Promise<void> {
    if (this.sendingAllowed || !this.options.allowSending) return;
    if (!(await this.options.allowSending(connection.http.host, connection.http.displayUrl))) {
      throw new RemoteError('refused', `Documents are not sent to ${connection.http.host}: not in an untrusted workspace, and not after "Don't Send" (the command "Surprisal Lens: Forget Inference Server Answers" asks again)`);
    }
    this.sendingAllowed = true;
  }

  /** The server could not be reached: say so once, then ask it again now and then until it answers. */
  private lostServer(message: string): void {
    if (this.recheck || !this.options.onAvailability || this.lifetime.signal.aborted) return;
    this.recheck = { timer: null, delay: this.options.recheckMs ?? DEFAULT_RECHECK_MS };
    this.options.onAvailability(false, message);
    this.scheduleRecheck();
  }

  private scheduleRecheck(): void {
    const recheck = this.recheck;
    if (!recheck) return;
    recheck.timer = setTimeout(() => {
      void (async () => {
        try {
          const connection = await this.connect(this.lifetime.signal);
          await connection.api.describe(this.lifetime.signal);
        } catch {
          if (this.recheck !== recheck) return;
          recheck.delay = Math.min(MAX_RECHECK_MS, recheck.delay * 2);
          this.scheduleRecheck();
          return;
        }
        if (this.recheck !== recheck) return;
        this.recheck = null;
        this.options.onAvailability?.(true, `${this.hostName()} answers again`);
      })();
    }, recheck.delay);
    // Waiting for a server never keeps the process (the CLI, a test run) alive.
    recheck.timer.unref?.();
  }

  private hostName(): string {
    try {
      return new URL(this.options.url).host;
    } catch {
      return this.options.url;
    }
  }

  /** Runs `work` with an AbortSignal that fires on `signal`'s cancellation or on dispose; cancellation rejects with CancelledError. */
  private async withSignal<T>(signal: CancellationSignal | undefined, work: (abort: AbortSignal) => Promise<T>): Promise<T> {
    if (signal?.isCancellationRequested || this.lifetime.signal.aborted) throw new CancelledError();
    const controller = new AbortController();
    const subscription = signal?.onCancellationRequested(() => controller.abort());
    const abort = AbortSignal.any([controller.signal, this.lifetime.signal]);
    try {
      return await work(abort);
    } catch (error) {
      if (abort.aborted) throw new CancelledError();
      // Only a server that cannot be reached counts as gone (a slow one is still there).
      if (error instanceof RemoteError && error.code === 'unreachable') this.lostServer(error.message);
      throw error;
    } finally {
      subscription?.dispose();
    }
  }

  /** Connects once (probing the API when asked to); a failed connection is forgotten, so the next call tries again. */
  private connect(abort: AbortSignal): Promise<Connection> {
    if (!this.connecting) {
      const connecting = this.open(this.lifetime.signal);
      this.connecting = connecting;
      connecting.catch(() => {
        if (this.connecting === connecting) this.connecting = null;
      });
    }
    const pending = this.connecting;
    return new Promise<Connection>((resolve, reject) => {
      const onAbort = () => reject(new CancelledError());
      abort.addEventListener('abort', onAbort, { once: true });
      pending.then(resolve, reject).finally(() => abort.removeEventListener('abort', onAbort));
    });
  }

  private async open(abort: AbortSignal): Promise<Connection> {
    const { url, model = '', api: apiSetting = 'auto', maxWindow = DEFAULT_REMOTE_MAX_WINDOW, maxInFlight: _inFlight, ...httpOptions } = this.options;
    const http = new RemoteHttp({ ...httpOptions, baseUrl: url });
    const kind = apiSetting === 'auto' ? await probeApi(http, abort) : apiSetting;
    const api: Api = kind === 'openai-completions' ? new VllmApi(http, model.trim()) : kind === 'sglang' ? new SglangApi(http, model.trim()) : new TgiApi(http, model.trim());
    const served = await api.describe(abort);
    let bosTokenId: number | null = null;
    if (api instanceof VllmApi) {
      // Tokenizing a word tells whether the server adds a BOS, and that /tokenize gives pieces.
      const probe = await api.tokenize('a', abort);
      const aligned = alignServerTokens('a', { kind: 'pieces', pieces: probe.pieces }, http.host);
      if (aligned.leading > 0) bosTokenId = probe.ids[0]!;
    }
    // One token of the context is kept for the generated token that older servers insist on.
    const windowSize = Math.max(2, Math.min(served.contextLength - 1, maxWindow));
    const engine = ENGINE_NAMES[kind];
    const source: RemoteSource = {
      api: kind,
      engine,
      host: http.host,
      url: http.displayUrl,
      model: served.model,
      label: `${served.model} on ${engine} at ${http.host}`,
      gaps: GAPS[kind],
    };
    const info: ModelInfo = {
      name: served.model,
      path: http.displayUrl,
      modelType: engine,
      vocabSize: 0,
      contextLength: served.contextLength,
      windowSize,
      bosTokenId,
      hasKvCache: false,
      inGraphScoringUnavailable: null,
      remote: source,
    };
    return { http, api, info, source };
  }

  private remember(id: number, text: string): void {
    if (!this.tokenTexts.has(id)) this.tokenTexts.set(id, text);
  }

  // -------------------------------------------------------------------------------------
  // vLLM: token ids, the local window grid, incremental re-scoring.
  // -------------------------------------------------------------------------------------

  private async scoreByIds(
    connection: Connection,
    api: VllmApi,
    job: ScoreJob,
    k: number,
    window: number,
    strideSetting: number,
    abort: AbortSignal,
    callbacks: ScoreCallbacks,
    began: number,
  ): Promise<DocumentScores> {
    const text = job.text;
    const tokenized = text === '' ? { ids: [], pieces: [] } : await api.tokenize(text, abort);
    const aligned = alignServerTokens(text, { kind: 'pieces', pieces: tokenized.pieces }, connection.http.host);
    const byteLevel = piecesLookByteLevel(tokenized.pieces);
    const prefix = tokenized.ids.slice(0, aligned.leading);
    const n = aligned.count;
    const ids = Int32Array.from(tokenized.ids.slice(aligned.leading, aligned.leading + n));
    for (let i = 0; i < tokenized.ids.length; i++) this.remember(tokenized.ids[i]!, pieceDisplayText(tokenized.pieces[i]!, byteLevel));

    const docPerWindow = window - prefix.length;
    if (docPerWindow < 1) throw new RemoteError('config', `The scoring window (${window} tokens) leaves no room for the document after the server's ${prefix.length} leading tokens`);
    const stride = Math.max(1, Math.min(strideSetting, docPerWindow));
    const columns = emptyColumns(n, k);

    // Tokens before the first change keep their scores (a causal model's prediction for them cannot depend on what follows).
    const previous = this.kept.get(job.documentKey);
    const reusable = previous?.prefix && previous.scores.topK === k && previous.scores.windowSize === window && previous.scores.stride === stride
      && sameIds(previous.prefix, prefix) ? previous.scores : undefined;
    let reused = 0;
    if (reusable) {
      const limit = Math.min(reusable.tokenCount, n);
      while (reused < limit && reusable.ids[reused] === ids[reused] && reusable.starts[reused] === aligned.starts[reused] && reusable.ends[reused] === aligned.ends[reused]) reused++;
      columns.logprobs.set(reusable.logprobs.subarray(0, reused));
      columns.ranks.set(reusable.ranks.subarray(0, reused));
      columns.topIds.set(reusable.topIds.subarray(0, reused * k));
      columns.topProbs.set(reusable.topProbs.subarray(0, reused * k));
    }
    // The same grid as engine.ts: resume at the first window that scores the first changed token.
    let start = 0;
    while (start + docPerWindow < n && start + docPerWindow <= reused) start += stride;
    const windows: { start: number; end: number; firstTarget: number }[] = [];
    for (let scoredUpTo = reused; scoredUpTo < n; start += stride) {
      const end = Math.min(start + docPerWindow, n);
      windows.push({ start, end, firstTarget: Math.max(scoredUpTo, prefix.length === 0 ? start + 1 : start) });
      scoredUpTo = end;
    }
    let scored = reused;
    const run = (list: typeof windows) => inPool(list, this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, abort, async (w) => {
      const prompt = [...prefix, ...ids.subarray(w.start, w.end)];
      const positions = await api.scorePrompt(prompt, k, abort);
      for (let j = w.firstTarget; j < w.end; j++) putScore(columns, j, k, positions[prefix.length + j - w.start]!, (id, t) => this.remember(id, t));
      scored += w.end - w.firstTarget;
      callbacks.onProgress?.(scored, n);
    });
    const result = (snapshot: boolean): DocumentScores => ({
      tokenCount: n,
      ids,
      starts: aligned.starts,
      ends: aligned.ends,
      ...(snapshot ? copyColumns(columns) : columns),
      topK: k,
      exactOffsets: true,
      summary: summarise(columns.logprobs, text),
      reusedTokens: reused,
      cachedPositions: 0,
      windowSize: window,
      stride,
      gaps: connection.source.gaps,
    });
    // As local scoring does: the windows covering the priority range (what the editor shows) first, reported early.
    const priority = job.priority;
    const isPriority = (w: (typeof windows)[number]) =>
      priority !== undefined && w.firstTarget < w.end && aligned.starts[w.firstTarget]! < priority.end && aligned.ends[w.end - 1]! > priority.start;
    const first = windows.filter(isPriority);
    if (first.length > 0 && first.length < windows.length) {
      await run(first);
      const partial = result(true);
      callbacks.onPartial?.({ documentKey: job.documentKey, version: job.version, scores: partial, reusedTokens: reused, elapsedMs: Date.now() - began });
      await run(windows.filter((w) => !isPriority(w)));
    } else {
      await run(windows);
    }
    const scores = result(false);
    this.keep(job.documentKey, { scores, prefix });
    return scores;
  }

  private keep(documentKey: string, scoring: KeptScoring): void {
    this.kept.delete(documentKey);
    this.kept.set(documentKey, scoring);
    while (this.kept.size > KEPT_DOCUMENTS) this.kept.delete(this.kept.keys().next().value!);
  }

  private async nextByIds(api: VllmApi, context: string, k: number, window: number, abort: AbortSignal) {
    const tokenized = context === '' ? { ids: [], pieces: [] } : await api.tokenize(context, abort);
    const aligned = alignServerTokens(context, { kind: 'pieces', pieces: tokenized.pieces }, api.host);
    const prefix = tokenized.ids.slice(0, aligned.leading);
    const doc = tokenized.ids.slice(aligned.leading, aligned.leading + aligned.count);
    // Room for the context, less one position for the token appended below.
    const room = Math.max(1, window - prefix.length - 1);
    const tail = doc.slice(Math.max(0, doc.length - room));
    const conditioned = [...prefix, ...tail];
    if (conditioned.length === 0) return { top: [], contextTokens: 0, truncated: false };
    // The prompt's log-probabilities at an appended token are the distribution of the token
    // after the context (a causal model's prediction there cannot see the appended token),
    // and vLLM reports them with ids, ranks and decoded text in one request.
    const positions = await api.scorePrompt([...conditioned, conditioned[conditioned.length - 1]!], k, abort);
    return { top: [...positions[positions.length - 1]!.top], contextTokens: tail.length, truncated: doc.length > tail.length };
  }

  // -------------------------------------------------------------------------------------
  // SGLang and TGI: text windows.
  // -------------------------------------------------------------------------------------

  private async scoreByText(
    connection: Connection,
    api: SglangApi | TgiApi,
    job: ScoreJob,
    k: number,
    window: number,
    strideSetting: number,
    abort: AbortSignal,
    callbacks: ScoreCallbacks,
  ): Promise<DocumentScores> {
    const text = job.text;
    const host = connection.http.host;
    const stride = Math.max(1, Math.min(strideSetting, window - 1));
    const contextKept = window - stride;
    let built = new ColumnBuilder();
    let from = 0;
    let keepFrom = 0;
    /** Characters per token: a first guess, then what the server's tokenizer did so far. */
    let charsPerToken = 4;
    const steps: TextWindowStep[] = [];
    // After an edit, the windows that end before the change would be sent exactly as before:
    // their tokens and scores are kept and the scoring resumes after the last of them.
    const replay = this.replayableSteps(job.documentKey, text, k, window, stride);
    if (replay) {
      built = replay.built;
      steps.push(...replay.steps);
      const last = replay.steps[replay.steps.length - 1]!;
      ({ nextFrom: from, keepFromAfter: keepFrom, charsPerTokenAfter: charsPerToken } = last);
    }
    const reused = built.ids.length;
    while (text.length > 0) {
      let budget = Math.max(MIN_WINDOW_CHARS, Math.floor(window * charsPerToken * 0.9));
      let to: number;
      let tokens: TextToken[];
      for (;;) {
        to = cutAt(text, from, budget, keepFrom);
        try {
          tokens = await api.scoreText(text.slice(from, to), k, abort);
          break;
        } catch (error) {
          // The estimate was too generous for this text: halve the window's characters.
          if (!isTooLong(error) || budget <= MIN_WINDOW_CHARS) throw error;
          budget = Math.max(MIN_WINDOW_CHARS, Math.floor(budget / 2));
          charsPerToken /= 2;
        }
      }
      const slice = text.slice(from, to);
      const aligned = alignServerTokens(slice, { kind: 'decoded', texts: tokens.map((t) => t.decoded) }, host);
      if (aligned.count > 0) charsPerToken = Math.max(0.25, slice.length / aligned.count);
      const windowTokens = tokens.slice(aligned.leading, aligned.leading + aligned.count);
      // A token's own bytes read better than its text decoded alone (U+FFFD for part of a character).
      windowTokens.forEach((t, j) => {
        if (!this.displayed.has(t.id)) {
          this.displayed.add(t.id);
          this.tokenTexts.set(t.id, aligned.displayText(j));
        }
      });
      for (const t of tokens) this.remember(t.id, t.decoded);
      const startOf = (j: number) => from + aligned.starts[j]!;

      const keepFromBefore = keepFrom;
      // The join: the first kept token of this window starts where the tokens so far end,
      // or, where this window tokenized across that point, at an earlier boundary both share.
      let join = 0;
      if (built.ids.length > 0) {
        join = -1;
        for (let j = 1; j < aligned.count && startOf(j) <= keepFrom; j++) {
          if (startOf(j) === keepFrom) join = j;
        }
        if (join < 0) {
          for (let j = aligned.count - 1; j >= 1 && join < 0; j--) {
            if (startOf(j) >= keepFrom) continue;
            const at = built.starts.lastIndexOf(startOf(j));
            if (at > 0) {
              built.truncate(at);
              join = j;
            }
          }
        }
        if (join < 0) throw new RemoteError('alignment', `The windows of a long document could not be joined: ${host} tokenized them differently where they overlap`);
      }
      const truncatedTo = built.ids.length;
      // A window cut inside a word may end in a piece of a longer token: not kept.
      const complete = to === text.length || isWordBoundary(text, to);
      const last = complete || aligned.count - join <= 1 ? aligned.count : aligned.count - 1;
      for (let j = join; j < last; j++) {
        const token = windowTokens[j]!;
        built.push(token.id, startOf(j), from + aligned.ends[j]!, token);
      }
      const reached = built.ends.length > 0 ? built.ends[built.ends.length - 1]! : 0;
      callbacks.onProgress?.(built.ids.length, built.ids.length + Math.ceil((text.length - reached) / charsPerToken));
      if (reached <= keepFrom && built.ids.length > 0 && to < text.length && last === join) {
        throw new RemoteError('bad-response', `${host} returned no tokens past character ${keepFrom} of the document`);
      }
      keepFrom = reached;
      // The next window starts `window - stride` tokens before the end of what is kept.
      const back = Math.max(0, built.ids.length - contextKept);
      let next = built.starts[back] ?? 0;
      if (next <= from) next = built.starts.find((s) => s > from) ?? keepFrom;
      steps.push({ from, to, budget, keepFromBefore, truncatedTo, countAfter: built.ids.length, keepFromAfter: keepFrom, nextFrom: next, charsPerTokenAfter: charsPerToken });
      if (reached >= text.length) break;
      from = next;
    }
    const scores = this.textScores(built, text, k, window, stride, connection.source.gaps, Math.min(reused, built.ids.length));
    this.keep(job.documentKey, { scores, text, steps, built });
    return scores;
  }

  /**
   * The windows of the document's previous scoring that would be sent again unchanged (the
   * same slice of text, cut at the same place) and whose kept tokens no later window
   * replaced, with the tokens as they stood after the last of them; null when none.
   */
  private replayableSteps(documentKey: string, text: string, k: number, window: number, stride: number): { steps: TextWindowStep[]; built: ColumnBuilder } | null {
    const previous = this.kept.get(documentKey);
    if (!previous?.steps || !previous.built || previous.text === undefined) return null;
    if (previous.scores.windowSize !== window || previous.scores.stride !== stride || (previous.scores.topK !== k && previous.scores.topK !== 0)) return null;
    const old = previous.text;
    let changed = 0;
    const limit = Math.min(old.length, text.length);
    while (changed < limit && old.charCodeAt(changed) === text.charCodeAt(changed)) changed++;
    let usable = 0;
    for (const step of previous.steps) {
      if (step.to >= changed || cutAt(text, step.from, step.budget, step.keepFromBefore) !== step.to) break;
      usable++;
    }
    // A later window may have gone back over tokens of an earlier one: the earlier state is then gone.
    for (; usable > 0; usable--) {
      const countAfter = previous.steps[usable - 1]!.countAfter;
      if (previous.steps.slice(usable).every((later) => later.truncatedTo >= countAfter)) break;
    }
    if (usable === 0) return null;
    const steps = previous.steps.slice(0, usable);
    const built = new ColumnBuilder();
    const count = steps[usable - 1]!.countAfter;
    built.ids = previous.built.ids.slice(0, count);
    built.starts = previous.built.starts.slice(0, count);
    built.ends = previous.built.ends.slice(0, count);
    built.scores = previous.built.scores.slice(0, count);
    return { steps, built };
  }

  private textScores(built: ColumnBuilder, text: string, k: number, window: number, stride: number, gaps: ScoreGaps, reusedTokens: number): DocumentScores {
    const n = built.ids.length;
    const columnsK = gaps.noAlternatives ? 0 : k;
    const columns = emptyColumns(n, columnsK);
    for (let j = 0; j < n; j++) putScore(columns, j, columnsK, built.scores[j]!, (id, t) => this.remember(id, t));
    return {
      tokenCount: n,
      ids: Int32Array.from(built.ids),
      starts: Int32Array.from(built.starts),
      ends: Int32Array.from(built.ends),
      ...columns,
      topK: columnsK,
      exactOffsets: true,
      summary: summarise(columns.logprobs, text),
      reusedTokens,
      cachedPositions: 0,
      windowSize: window,
      stride,
      gaps,
    };
  }

  private async nextByText(api: SglangApi | TgiApi, context: string, k: number, window: number, abort: AbortSignal) {
    // The end of the context, about one window of it, cut at a word; halved if the server finds it too long.
    let chars = window * 3;
    for (;;) {
      const from = context.length <= chars ? 0 : wordStartAtOrAfter(context, context.length - chars);
      try {
        const { top, promptTokens } = await api.nextTokens(context.slice(from), k, abort);
        return { top, contextTokens: promptTokens, truncated: from > 0 };
      } catch (error) {
        if (!isTooLong(error) || chars <= MIN_WINDOW_CHARS) throw error;
        chars = Math.floor(chars / 2);
      }
    }
  }
}

interface ScoreColumns {
  logprobs: Float64Array;
  ranks: Int32Array;
  entropies: Float32Array;
  topIds: Int32Array;
  topProbs: Float32Array;
}

function emptyColumns(n: number, k: number): ScoreColumns {
  return {
    logprobs: new Float64Array(n).fill(NaN),
    ranks: new Int32Array(n),
    // A server reports only its top-k, never the whole distribution: entropy is unknown.
    entropies: new Float32Array(n).fill(NaN),
    topIds: new Int32Array(n * k).fill(-1),
    topProbs: new Float32Array(n * k),
  };
}

function copyColumns(columns: ScoreColumns): ScoreColumns {
  return {
    logprobs: columns.logprobs.slice(),
    ranks: columns.ranks.slice(),
    entropies: columns.entropies.slice(),
    topIds: columns.topIds.slice(),
    topProbs: columns.topProbs.slice(),
  };
}

function putScore(columns: ScoreColumns, j: number, k: number, score: PositionScore, remember: (id: number, text: string) => void): void {
  columns.logprobs[j] = score.logprob;
  columns.ranks[j] = Number.isNaN(score.logprob) ? 0 : score.rank;
  for (let c = 0; c < k && c < score.top.length; c++) {
    const alternative = score.top[c]!;
    columns.topIds[j * k + c] = alternative.id;
    columns.topProbs[j * k + c] = Math.exp(alternative.logprob);
    if (alternative.text) remember(alternative.id, alternative.text);
  }
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Runs `work` on every item, at most `limit` at once; the first failure stops the rest. */
async function inPool<T>(items: readonly T[], limit: number, abort: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      if (abort.aborted) throw new CancelledError();
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** A space or newline after a character that is not whitespace: where a window may end without cutting a word. */
function isWordBoundary(text: string, at: number): boolean {
  if (at <= 0 || at >= text.length) return true;
  const here = text.charCodeAt(at);
  return (here === 0x20 || here === 0x0a) && !/\s/.test(text[at - 1]!);
}

/**
 * Where a window from `from` ends: the end of the text if it fits in `budget` characters,
 * else the last word boundary within the budget after `keepFrom`, else the budget's end
 * (never between the halves of a surrogate pair).
 */
function cutAt(text: string, from: number, budget: number, keepFrom: number): number {
  const target = Math.max(from + budget, keepFrom + MIN_WINDOW_CHARS);
  if (target >= text.length) return text.length;
  for (let at = target; at > keepFrom; at--) if (isWordBoundary(text, at)) return at;
  const code = text.charCodeAt(target - 1);
  return code >= 0xd800 && code <= 0xdbff ? target + 1 : target;
}

function wordStartAtOrAfter(text: string, at: number): number {
  for (let i = Math.max(1, at); i < text.length; i++) if (isWordBoundary(text, i)) return i;
  return Math.max(0, at);
}
