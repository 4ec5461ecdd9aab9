/**
 * The request and response shapes of the three engines that return log-probabilities of a
 * prompt's own tokens, each checked field by field: a field that is missing, of the wrong
 * type or length, or a log-probability that is NaN or above 0 is a `RemoteError`
 * ('bad-response') naming the server, never a silently wrong colour. Shapes are taken from
 * the engines' sources (cited per adapter) as summarised in shared/MODEL-SOURCES.md.
 *
 * Two families: vLLM scores token ids (its `/tokenize` gives the raw pieces to align with
 * the document, and `/v1/completions` accepts the ids back, so the scored tokens are
 * exactly the aligned ones); SGLang and TGI score text and report each token decoded alone.
 */
import type { RemoteHttp } from './http';
import { RemoteError } from './remoteError';

export type RemoteApi = 'openai-completions' | 'sglang' | 'tgi';
export type RemoteApiSetting = RemoteApi | 'auto';
export const REMOTE_APIS: readonly RemoteApiSetting[] = ['auto', 'openai-completions', 'sglang', 'tgi'];

/** One alternative for a position, most likely first in a list. */
export interface Alternative {
  readonly id: number;
  readonly logprob: number;
  /** The token's text as the server decoded it alone ('' when the server gave none). */
  readonly text: string;
}

/** What the server says about one prompt position. */
export interface PositionScore {
  /** ln P(token | the tokens before it); NaN for the first position (nothing before it). */
  readonly logprob: number;
  /** 1-based rank in the full vocabulary, or 0 when the server does not say. */
  readonly rank: number;
  /** Most likely first; empty when the engine reports no alternatives for prompt tokens. */
  readonly top: readonly Alternative[];
}

export interface ServerModel {
  readonly model: string;
  /** The longest prompt the server accepts, in tokens. */
  readonly contextLength: number;
}

/** A token scored from text: its id, its text decoded alone, and its scores. */
export interface TextToken extends PositionScore {
  readonly id: number;
  readonly decoded: string;
}

/** vLLM's log-probabilities are clamped at -9999 where they are -inf (vllm/logprobs.py, serving_engine.clamp_prompt_logprobs). */
const VLLM_CLAMPED = -9999;
/** Log-probabilities a little above 0 come from float rounding; beyond this they are wrong. */
const LOGPROB_SLACK = 1e-3;

type Json = Record<string, unknown>;

/** Reads and checks fields of a server's answer; every problem names the host and the path. */
export class Reader {
  constructor(
    private readonly host: string,
    private readonly path: string,
  ) {}

  fail(what: string): never {
    throw new RemoteError('bad-response', `${this.host} answered ${this.path} with ${what}`);
  }

  object(value: unknown, name: string): Json {
    if (!value || typeof value !== 'object' || Array.isArray(value)) this.fail(`no object ${name}`);
    return value as Json;
  }

  array(value: unknown, name: string, length?: number): unknown[] {
    if (!Array.isArray(value)) this.fail(`no list ${name}`);
    if (length !== undefined && value.length !== length) this.fail(`${value.length} entries in ${name} where ${length} were expected`);
    return value;
  }

  string(value: unknown, name: string): string {
    if (typeof value !== 'string') this.fail(`no text ${name}`);
    return value;
  }

  tokenId(value: unknown, name: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) this.fail(`an invalid token id in ${name}`);
    return value;
  }

  positive(value: unknown, name: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(`an invalid ${name}`);
    return value;
  }

  /** A log-probability: finite and at most 0, or -inf (also as vLLM's -9999 clamp). */
  logprob(value: unknown, name: string): number {
    if (typeof value !== 'number' || Number.isNaN(value)) this.fail(`a log-probability that is not a number in ${name}`);
    if (value === -Infinity || value <= VLLM_CLAMPED) return -Infinity;
    if (value > LOGPROB_SLACK || value === Infinity) this.fail(`an impossible log-probability ${value} in ${name}`);
    return Math.min(0, value);
  }
}

function sortedTop(top: Alternative[]): Alternative[] {
  return top.sort((a, b) => b.logprob - a.logprob || a.id - b.id);
}

/** Whether an HTTP error says the prompt was longer than the server accepts. */
export function isTooLong(error: unknown): boolean {
  return error instanceof RemoteError && error.code === 'http' && (error.status === 400 || error.status === 413 || error.status === 422)
    && /context|too long|longer than|exceed|must be <=|maximum|max_model_len|tokens/i.test(error.detail ?? '');
}

/** Whether an HTTP 400 refuses `max_tokens`/`max_new_tokens` of 0 (older engines want at least 1). */
function refusesZeroTokens(error: unknown): boolean {
  return error instanceof RemoteError && error.code === 'http' && (error.status === 400 || error.status === 422)
    && /max_(new_)?tokens/i.test(error.detail ?? '');
}

// ---------------------------------------------------------------------------------------
// vLLM, OpenAI-compatible server. Request fields: vllm/entrypoints/openai/protocol.py
// (CompletionRequest: echo, logprobs, max_tokens, temperature, prompt_logprobs,
// return_tokens_as_token_ids; TokenizeCompletionRequest: add_special_tokens,
// return_token_strs); answers: serving_completion.py (CompletionResponseChoice.logprobs and
// .prompt_logprobs, a list with None first and then {token id: {logprob, rank,
// decoded_token}}), serving_tokenization.py (TokenizeResponse: count, max_model_len,
// tokens, token_strs), vllm/logprobs.py (Logprob). GET /v1/models: ModelCard.max_model_len.
// ---------------------------------------------------------------------------------------

export interface TokenizedPrompt {
  readonly ids: readonly number[];
  /** Raw vocabulary pieces (`Ġ`, `▁`, `<0xNN>`), one per id. */
  readonly pieces: readonly string[];
}

export class VllmApi {
  readonly api = 'openai-completions' as const;
  /** 0 until a server refuses it; then 1 (the generated token is ignored). */
  private maxTokens = 0;
  /** The server's `--max-logprobs`, once it refused more. */
  private logprobsLimit = Infinity;

  constructor(
    private readonly http: RemoteHttp,
    private model: string,
  ) {}

  get host(): string {
    return this.http.host;
  }

  async describe(signal?: AbortSignal): Promise<ServerModel> {
    const path = '/v1/models';
    const read = new Reader(this.http.host, path);
    const body = read.object(await this.http.get(path, signal), 'body');
    const cards = read.array(body.data, 'data').map((card) => read.object(card, 'data[]'));
    if (cards.length === 0) read.fail('no models');
    const card = this.model === '' ? cards[0]! : cards.find((c) => c.id === this.model);
    if (!card) {
      const served = cards.map((c) => String(c.id)).slice(0, 5).join(', ');
      throw new RemoteError('config', `${this.http.host} does not serve the model "${this.model}" (it serves ${served})`);
    }
    this.model = read.string(card.id, 'data[].id');
    return { model: this.model, contextLength: read.positive(card.max_model_len, 'max_model_len') };
  }

  async tokenize(text: string, signal?: AbortSignal): Promise<TokenizedPrompt> {
    const path = '/tokenize';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, { model: this.model, prompt: text, add_special_tokens: true, return_token_strs: true }, signal),
      'body',
    );
    const ids = read.array(body.tokens, 'tokens').map((id) => read.tokenId(id, 'tokens'));
    if (body.token_strs === undefined || body.token_strs === null) {
      throw new RemoteError('unsupported', `${this.http.host} does not return token_strs from /tokenize (a vLLM whose /tokenize accepts return_token_strs is needed to align tokens with the text)`);
    }
    const pieces = read.array(body.token_strs, 'token_strs', ids.length).map((piece) => read.string(piece, 'token_strs'));
    return { ids, pieces };
  }

  /**
   * Scores of every position of `ids` (the first has no log-probability) with up to `k`
   * alternatives each; `k` is lowered to the server's `--max-logprobs` when it refuses more.
   */
  async scorePrompt(ids: readonly number[], k: number, signal?: AbortSignal): Promise<PositionScore[]> {
    for (;;) {
      const asked = Math.max(1, Math.min(k, this.logprobsLimit));
      try {
        return await this.scoreOnce(ids, asked, signal);
      } catch (error) {
        if (this.maxTokens === 0 && refusesZeroTokens(error)) {
          this.maxTokens = 1;
          continue;
        }
        const limit = /max(?:imum)?[^0-9]{0,20}(\d+)/i.exec((error as RemoteError).detail ?? '');
        if (error instanceof RemoteError && error.status === 400 && /logprobs/i.test(error.detail ?? '') && asked > 1) {
          const allowed = limit ? Number(limit[1]) : 1;
          if (allowed < asked) {
            this.logprobsLimit = Math.max(1, allowed);
            continue;
          }
        }
        throw error;
      }
    }
  }

  private async scoreOnce(ids: readonly number[], k: number, signal?: AbortSignal): Promise<PositionScore[]> {
    const path = '/v1/completions';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, {
        model: this.model,
        prompt: ids,
        echo: true,
        max_tokens: this.maxTokens,
        temperature: 0,
        logprobs: k,
        prompt_logprobs: k,
        return_tokens_as_token_ids: true,
      }, signal),
      'body',
    );
    const choice = read.object(read.array(body.choices, 'choices')[0], 'choices[0]');
    if (Array.isArray(choice.prompt_logprobs)) return this.fromPromptLogprobs(read, choice.prompt_logprobs, ids, k);
    if (choice.logprobs && typeof choice.logprobs === 'object') return this.fromEchoLogprobs(read, read.object(choice.logprobs, 'logprobs'), ids, k);
    throw new RemoteError('unsupported', `${this.http.host} returned no log-probabilities for the prompt (is it vLLM's OpenAI-compatible server?)`);
  }

  /** `prompt_logprobs`: [null, {"<id>": {logprob, rank, decoded_token}}, ...], the prompt's own token always present. */
  private fromPromptLogprobs(read: Reader, entries: unknown[], ids: readonly number[], k: number): PositionScore[] {
    read.array(entries, 'prompt_logprobs', ids.length);
    return entries.map((entry, i): PositionScore => {
      if (i === 0) return { logprob: NaN, rank: 0, top: [] };
      const dict = read.object(entry, `prompt_logprobs[${i}]`);
      const own = dict[String(ids[i])];
      if (own === undefined) read.fail(`prompt_logprobs[${i}] without the prompt's token ${ids[i]} (the tokens are not the ones sent)`);
      const ownEntry = read.object(own, `prompt_logprobs[${i}]`);
      const top: Alternative[] = [];
      for (const [key, value] of Object.entries(dict)) {
        const item = read.object(value, `prompt_logprobs[${i}]`);
        const rank = typeof item.rank === 'number' ? item.rank : 0;
        if (rank > k) continue; // the prompt's own token, listed although outside the top k
        const decoded = typeof item.decoded_token === 'string' && !/^token_id:\d+$/.test(item.decoded_token) ? item.decoded_token : '';
        top.push({ id: read.tokenId(Number(key), `prompt_logprobs[${i}] key`), logprob: read.logprob(item.logprob, `prompt_logprobs[${i}]`), text: decoded });
      }
      const rank = typeof ownEntry.rank === 'number' && Number.isInteger(ownEntry.rank) && ownEntry.rank >= 1 ? ownEntry.rank : 0;
      return { logprob: read.logprob(ownEntry.logprob, `prompt_logprobs[${i}]`), rank, top: sortedTop(top).slice(0, k) };
    });
  }

  /** The echo `logprobs` (older vLLM): tokens as "token_id:N", token_logprobs with null first, top_logprobs dicts. */
  private fromEchoLogprobs(read: Reader, logprobs: Json, ids: readonly number[], k: number): PositionScore[] {
    const tokens = read.array(logprobs.tokens, 'logprobs.tokens');
    const values = read.array(logprobs.token_logprobs, 'logprobs.token_logprobs', tokens.length);
    const tops = Array.isArray(logprobs.top_logprobs) ? logprobs.top_logprobs : [];
    if (tokens.length < ids.length) read.fail(`${tokens.length} entries in logprobs.tokens for a prompt of ${ids.length}`);
    return ids.map((id, i): PositionScore => {
      if (tokens[i] !== `token_id:${id}`) read.fail(`logprobs.tokens[${i}] = ${JSON.stringify(tokens[i])} where token_id:${id} was sent`);
      if (i === 0) return { logprob: NaN, rank: 0, top: [] };
      const top: Alternative[] = [];
      const dict = tops[i] && typeof tops[i] === 'object' ? (tops[i] as Json) : {};
      for (const [key, value] of Object.entries(dict)) {
        const match = /^token_id:(\d+)$/.exec(key);
        if (match) top.push({ id: Number(match[1]), logprob: read.logprob(value, `logprobs.top_logprobs[${i}]`), text: '' });
      }
      // The dict holds the k best and, when it is not among them, the prompt's own token.
      const sorted = sortedTop(top).slice(0, k);
      const index = sorted.findIndex((t) => t.id === id);
      return { logprob: read.logprob(values[i], `logprobs.token_logprobs[${i}]`), rank: index + 1, top: sorted };
    });
  }
}

// ---------------------------------------------------------------------------------------
// SGLang native API. docs/backend/sampling_params.md: POST /generate {text,
// sampling_params, return_logprob, logprob_start_len, top_logprobs_num,
// return_text_in_logprobs}; meta_info.input_token_logprobs = [[logprob | null, id, text]],
// meta_info.input_top_logprobs = [null | [[logprob, id, text], ...]], output_top_logprobs
// likewise for generated tokens; GET /get_model_info {model_path}; the context length from
// GET /v1/models (max_model_len) or GET /get_server_info (context_length).
// ---------------------------------------------------------------------------------------

export class SglangApi {
  readonly api = 'sglang' as const;
  private maxNewTokens = 0;

  constructor(
    private readonly http: RemoteHttp,
    private model: string,
  ) {}

  async describe(signal?: AbortSignal): Promise<ServerModel> {
    const info = new Reader(this.http.host, '/get_model_info').object(await this.http.get('/get_model_info', signal), 'body');
    const served = typeof info.model_path === 'string' ? info.model_path : '';
    if (this.model !== '' && served !== '' && this.model !== served) {
      throw new RemoteError('config', `${this.http.host} serves "${served}", not "${this.model}"`);
    }
    this.model ||= served;
    return { model: this.model, contextLength: await this.contextLength(signal) };
  }

  private async contextLength(signal?: AbortSignal): Promise<number> {
    try {
      const models = await this.http.get('/v1/models', signal);
      const card = ((models as Json)?.data as Json[] | undefined)?.[0];
      if (typeof card?.max_model_len === 'number' && card.max_model_len > 0) return card.max_model_len;
    } catch (error) {
      if (!(error instanceof RemoteError) || error.code !== 'http') throw error;
    }
    const server = new Reader(this.http.host, '/get_server_info').object(await this.http.get('/get_server_info', signal), 'body');
    const length = server.context_length ?? (server.server_args as Json | undefined)?.context_length;
    if (typeof length === 'number' && length > 0) return length;
    throw new RemoteError('unsupported', `${this.http.host} does not say its context length (start SGLang with --context-length)`);
  }

  /** Every token of `text` (the BOS the server adds included) with its scores. */
  async scoreText(text: string, k: number, signal?: AbortSignal): Promise<TextToken[]> {
    for (;;) {
      try {
        return await this.scoreOnce(text, k, signal);
      } catch (error) {
        if (this.maxNewTokens === 0 && refusesZeroTokens(error)) {
          this.maxNewTokens = 1;
          continue;
        }
        throw error;
      }
    }
  }

  private async scoreOnce(text: string, k: number, signal?: AbortSignal): Promise<TextToken[]> {
    const path = '/generate';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, {
        text,
        sampling_params: { max_new_tokens: this.maxNewTokens, temperature: 0 },
        return_logprob: true,
        logprob_start_len: 0,
        top_logprobs_num: k,
        return_text_in_logprobs: true,
      }, signal),
      'body',
    );
    const meta = read.object(body.meta_info, 'meta_info');
    const tokens = read.array(meta.input_token_logprobs, 'meta_info.input_token_logprobs');
    if (tokens.length === 0 && text !== '') {
      throw new RemoteError('unsupported', `${this.http.host} returned no log-probabilities for the prompt's tokens (an SGLang that honours logprob_start_len is needed)`);
    }
    const tops = read.array(meta.input_top_logprobs, 'meta_info.input_top_logprobs', tokens.length);
    return tokens.map((entry, i): TextToken => {
      const [value, id, decoded] = read.array(entry, `input_token_logprobs[${i}]`, 3);
      const tokenId = read.tokenId(id, `input_token_logprobs[${i}]`);
      const top = tops[i] === null || tops[i] === undefined ? [] : this.alternatives(read, tops[i], `input_top_logprobs[${i}]`);
      const index = top.findIndex((t) => t.id === tokenId);
      const first = i === 0 || value === null;
      return {
        id: tokenId,
        decoded: read.string(decoded, `input_token_logprobs[${i}]`),
        logprob: first ? NaN : read.logprob(value, `input_token_logprobs[${i}]`),
        rank: first || index < 0 ? 0 : index + 1,
        top: first ? [] : top,
      };
    });
  }

  private alternatives(read: Reader, list: unknown, name: string): Alternative[] {
    return sortedTop(read.array(list, name).map((item) => {
      const [value, id, text] = read.array(item, name, 3);
      return { id: read.tokenId(id, name), logprob: read.logprob(value, name), text: typeof text === 'string' ? text : '' };
    }));
  }

  /** The top `k` next tokens after `text`, and how many tokens the prompt had. */
  async nextTokens(text: string, k: number, signal?: AbortSignal): Promise<{ top: Alternative[]; promptTokens: number }> {
    const path = '/generate';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, {
        text,
        sampling_params: { max_new_tokens: 1, temperature: 0 },
        return_logprob: true,
        top_logprobs_num: k,
        return_text_in_logprobs: true,
      }, signal),
      'body',
    );
    const meta = read.object(body.meta_info, 'meta_info');
    const first = read.array(meta.output_top_logprobs, 'meta_info.output_top_logprobs')[0];
    return {
      top: first === null || first === undefined ? [] : this.alternatives(read, first, 'output_top_logprobs[0]').slice(0, k),
      promptTokens: typeof meta.prompt_tokens === 'number' ? meta.prompt_tokens : 0,
    };
  }
}

// ---------------------------------------------------------------------------------------
// Hugging Face TGI. router/src/lib.rs: GenerateRequest {inputs, parameters:
// {max_new_tokens, details, decoder_input_details, top_n_tokens, do_sample}};
// Details.prefill = [PrefillToken {id, text, logprob}] with the first logprob null (NaN
// serialised); Details.top_tokens = [[Token {id, text, logprob, special}]] for generated
// tokens only; GET /info (Info: model_id, max_input_tokens / max_input_length,
// max_total_tokens). No alternatives and no ranks for prompt tokens.
// ---------------------------------------------------------------------------------------

/** TGI's default `--max-top-n-tokens`: asking for more is refused. */
const TGI_TOP_N_TOKENS = 5;

export class TgiApi {
  readonly api = 'tgi' as const;

  constructor(
    private readonly http: RemoteHttp,
    private model: string,
  ) {}

  async describe(signal?: AbortSignal): Promise<ServerModel> {
    const read = new Reader(this.http.host, '/info');
    const info = read.object(await this.http.get('/info', signal), 'body');
    const served = read.string(info.model_id, 'model_id');
    if (this.model !== '' && this.model !== served) throw new RemoteError('config', `${this.http.host} serves "${served}", not "${this.model}"`);
    this.model = served;
    const input = info.max_input_tokens ?? info.max_input_length;
    const total = typeof info.max_total_tokens === 'number' ? info.max_total_tokens - 1 : undefined;
    return { model: served, contextLength: read.positive(input ?? total, 'max_input_tokens') };
  }

  async scoreText(text: string, _k: number, signal?: AbortSignal): Promise<TextToken[]> {
    const path = '/generate';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, { inputs: text, parameters: { max_new_tokens: 1, details: true, decoder_input_details: true, do_sample: false } }, signal),
      'body',
    );
    const details = read.object(body.details, 'details');
    const prefill = read.array(details.prefill, 'details.prefill');
    if (prefill.length === 0 && text !== '') {
      throw new RemoteError('unsupported', `${this.http.host} returned no prefill details for the prompt (a TGI that honours decoder_input_details is needed)`);
    }
    return prefill.map((entry, i): TextToken => {
      const token = read.object(entry, `prefill[${i}]`);
      const first = i === 0 || token.logprob === null || token.logprob === undefined;
      return {
        id: read.tokenId(token.id, `prefill[${i}].id`),
        decoded: read.string(token.text, `prefill[${i}].text`),
        logprob: first ? NaN : read.logprob(token.logprob, `prefill[${i}].logprob`),
        rank: 0,
        top: [],
      };
    });
  }

  async nextTokens(text: string, k: number, signal?: AbortSignal): Promise<{ top: Alternative[]; promptTokens: number }> {
    const path = '/generate';
    const read = new Reader(this.http.host, path);
    const body = read.object(
      await this.http.post(path, {
        inputs: text,
        parameters: { max_new_tokens: 1, details: true, decoder_input_details: true, do_sample: false, top_n_tokens: Math.min(k, TGI_TOP_N_TOKENS) },
      }, signal),
      'body',
    );
    const details = read.object(body.details, 'details');
    const prefill = Array.isArray(details.prefill) ? details.prefill.length : 0;
    const topTokens = Array.isArray(details.top_tokens) ? details.top_tokens[0] : undefined;
    const list = Array.isArray(topTokens) ? topTokens : read.array(details.tokens, 'details.tokens').slice(0, 1);
    const top = list.map((item, j) => {
      const token = read.object(item, `top_tokens[0][${j}]`);
      return { id: read.tokenId(token.id, 'top_tokens'), logprob: read.logprob(token.logprob, 'top_tokens'), text: typeof token.text === 'string' ? token.text : '' };
    });
    return { top: sortedTop(top), promptTokens: prefill };
  }
}

/**
 * Which API the server speaks, by asking for what only that engine serves: SGLang's
 * /get_model_info, TGI's /info (with model_id), then the OpenAI-compatible /v1/models
 * (vLLM; SGLang and TGI serve it too, hence last).
 */
export async function probeApi(http: RemoteHttp, signal?: AbortSignal): Promise<RemoteApi> {
  const answers = async (path: string, check: (body: Json) => boolean): Promise<boolean> => {
    try {
      const body = await http.get(path, signal);
      return !!body && typeof body === 'object' && check(body as Json);
    } catch (error) {
      // Refused for want of a key: say so rather than "not this engine".
      if (error instanceof RemoteError && (error.status === 401 || error.status === 403)) throw error;
      if (error instanceof RemoteError && (error.code === 'http' || error.code === 'bad-response')) return false;
      throw error;
    }
  };
  if (await answers('/get_model_info', (b) => typeof b.model_path === 'string')) return 'sglang';
  if (await answers('/info', (b) => typeof b.model_id === 'string')) return 'tgi';
  if (await answers('/v1/models', (b) => Array.isArray(b.data))) return 'openai-completions';
  throw new RemoteError('unsupported', `${http.host} answers none of vLLM's /v1/models, SGLang's /get_model_info or TGI's /info: set surprisalLens.remote.api, or check the URL`);
}
