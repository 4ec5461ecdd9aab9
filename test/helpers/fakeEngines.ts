/**
 * Local stand-ins for the inference servers the remote backend speaks to, answering with
 * the JSON shapes of the engines' own sources (cited per route) and with real numbers: each
 * is backed by the project's own engine (`LanguageModel`, the tiny fixture model), so remote
 * and local scoring of the same text can be compared value for value.
 *
 * vLLM (vllm/entrypoints/openai/protocol.py, serving_completion.py, serving_tokenization.py,
 * vllm/logprobs.py):
 *   GET  /v1/models       -> {object: 'list', data: [{id, object: 'model', owned_by: 'vllm', max_model_len}]}
 *   POST /tokenize        {model, prompt, add_special_tokens, return_token_strs}
 *                         -> {count, max_model_len, tokens, token_strs}
 *   POST /v1/completions  {model, prompt: ids, echo, max_tokens, logprobs, prompt_logprobs, return_tokens_as_token_ids}
 *                         -> {choices: [{text, logprobs: {tokens, token_logprobs, top_logprobs, text_offset},
 *                             prompt_logprobs: [null, {"<id>": {logprob, rank, decoded_token}}, ...]}]};
 *                         -inf clamped to -9999 (serving_engine.clamp_prompt_logprobs)
 * SGLang (docs/backend/sampling_params.md, native API):
 *   GET  /get_model_info  -> {model_path, tokenizer_path, is_generation}
 *   GET  /v1/models       -> {data: [{id, max_model_len}]}
 *   POST /generate        {text, sampling_params, return_logprob, logprob_start_len, top_logprobs_num, return_text_in_logprobs}
 *                         -> {text, meta_info: {prompt_tokens, input_token_logprobs: [[lp|null, id, text]],
 *                             input_top_logprobs: [null, [[lp, id, text], ...]], output_top_logprobs}}
 *                         too long: 400 {error: {message: "The input (N tokens) is longer than the model's context length (M tokens)."}}
 * TGI (router/src/lib.rs, server.rs):
 *   GET  /info            -> {model_id, max_input_tokens, max_total_tokens, ...}
 *   POST /generate        {inputs, parameters: {max_new_tokens, details, decoder_input_details, top_n_tokens, do_sample}}
 *                         -> {generated_text, details: {finish_reason, generated_tokens, prefill: [{id, text, logprob|null}],
 *                             tokens: [{id, text, logprob, special}], top_tokens: [[{id, text, logprob, special}]]}}
 *                         too long: 422 {error: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= M. ...", error_type: "validation"}
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LanguageModel } from '../../src/core/engine';

export type EngineKind = 'vllm' | 'sglang' | 'tgi';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown> | undefined;
  readonly headers: http.IncomingHttpHeaders;
}

export type Fault =
  /** Answers with this status, headers and raw body. */
  | { readonly kind: 'status'; readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  /** Answers 200 with this raw body. */
  | { readonly kind: 'raw'; readonly body: string }
  /** Closes the connection without answering. */
  | { readonly kind: 'drop' }
  /** Never answers (until the server closes). */
  | { readonly kind: 'hang' };

export interface FakeEngineOptions {
  readonly kind: EngineKind;
  readonly model: LanguageModel;
  readonly modelName?: string;
  /** The server's context, in tokens (default: the model's). */
  readonly contextLength?: number;
  /** Refuse max_tokens / max_new_tokens 0, as older engines do. */
  readonly refuseZeroNewTokens?: boolean;
  /** vLLM's --max-logprobs (default 20). */
  readonly maxLogprobs?: number;
  /** Listen on this port (default: any free one). */
  readonly port?: number;
  /**
   * Tokenize with this tokenizer instead of the model's (a SentencePiece one, say), its BOS
   * first; the tiny model still computes the numbers (any ids below its vocabulary size).
   */
  readonly tokenizer?: { readonly tokenizer: import('../../src/core/textTokenizer').TextTokenizer; readonly bos: number };
  /** Told of each request as it arrives (after it is recorded in `calls`). */
  readonly onCall?: (call: RecordedCall) => void;
}

export interface FakeEngine {
  readonly url: string;
  readonly calls: RecordedCall[];
  /** Called per request; a fault replaces the answer. */
  fault: ((call: RecordedCall) => Fault | undefined) | undefined;
  /** Edits a correct JSON answer before it is sent (to make it wrong in one field). */
  tamper: ((path: string, answer: Record<string, unknown>) => Record<string, unknown>) | undefined;
  close(): Promise<void>;
}

interface PromptScores {
  /** ln P of each prompt token given those before it; NaN for the first. */
  readonly logprobs: number[];
  readonly ranks: number[];
  /** Alternatives per position (first: none), most likely first. */
  readonly top: { id: number; logprob: number }[][];
}

/** Scores a prompt whose first token is a BOS (read as the model's own), in one window, with the project's engine. */
async function scorePrompt(model: LanguageModel, prompt: readonly number[], k: number): Promise<PromptScores> {
  const ids = Int32Array.from(prompt.slice(1));
  const n = ids.length;
  const zeros = new Int32Array(n);
  const scores = await model.scoreTokens({ ids, starts: zeros, ends: zeros, exactOffsets: true }, '', { topK: k, windowSize: n + 1, stride: n });
  const logprobs = [NaN];
  const ranks = [0];
  const top: { id: number; logprob: number }[][] = [[]];
  for (let j = 0; j < n; j++) {
    logprobs.push(scores.logprobs[j]!);
    ranks.push(scores.ranks[j]!);
    const row: { id: number; logprob: number }[] = [];
    for (let c = 0; c < k; c++) {
      const id = scores.topIds[j * k + c]!;
      if (id >= 0) row.push({ id, logprob: Math.log(scores.topProbs[j * k + c]!) });
    }
    top.push(row);
  }
  return { logprobs, ranks, top };
}

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    readonly json: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export async function startFakeEngine(options: FakeEngineOptions): Promise<FakeEngine> {
  const { kind, model } = options;
  const name = options.modelName ?? 'tiny-gpt2';
  const context = options.contextLength ?? model.info.contextLength;
  const tokenizer = options.tokenizer?.tokenizer ?? model.tokenizer;
  const bos = options.tokenizer?.bos ?? model.info.bosTokenId!;
  const vocab = (tokenizer as unknown as { vocab: (string | undefined)[] }).vocab;
  const decodeAlone = (id: number) => tokenizer.decode([id]);
  const calls: RecordedCall[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const withBos = (text: string) => [bos, ...tokenizer.encode(text).ids];
  const vllmRoutes = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    if (path === '/v1/models') return { object: 'list', data: [{ id: name, object: 'model', owned_by: 'vllm', max_model_len: context }] };
    if (path === '/tokenize') {
      const ids = body.add_special_tokens === false ? Array.from(tokenizer.encode(String(body.prompt)).ids) : withBos(String(body.prompt));
      return { count: ids.length, max_model_len: context, tokens: ids, token_strs: body.return_token_strs ? ids.map((id) => vocab[id]) : null };
    }
    if (path === '/v1/completions') {
      const prompt = body.prompt as number[];
      const maxTokens = Number(body.max_tokens ?? 16);
      if (maxTokens === 0 && (options.refuseZeroNewTokens || !body.echo)) throw new HttpAnswer(400, { object: 'error', message: 'max_tokens must be at least 1, got 0.', type: 'BadRequestError', code: 400 });
      const k = Number(body.prompt_logprobs ?? body.logprobs ?? 0);
      const limit = options.maxLogprobs ?? 20;
      if (k > limit) throw new HttpAnswer(400, { object: 'error', message: `Requested prompt logprobs of ${k}, which is greater than max allowed: ${limit}`, type: 'BadRequestError', code: 400 });
      if (prompt.length + maxTokens > context) {
        throw new HttpAnswer(400, { object: 'error', message: `This model's maximum context length is ${context} tokens. However, you requested ${prompt.length + maxTokens} tokens (${prompt.length} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`, type: 'BadRequestError', code: 400 });
      }
      const scores = await scorePrompt(model, prompt, Math.max(1, k));
      const clamp = (lp: number) => Math.max(lp, -9999);
      const promptLogprobs = prompt.map((id, i) => {
        if (i === 0) return null;
        const entry: Record<string, unknown> = {};
        scores.top[i]!.forEach((t, r) => (entry[String(t.id)] = { logprob: clamp(t.logprob), rank: r + 1, decoded_token: decodeAlone(t.id) }));
        entry[String(id)] ??= { logprob: clamp(scores.logprobs[i]!), rank: scores.ranks[i], decoded_token: decodeAlone(id) };
        return entry;
      });
      const asId = (id: number) => (body.return_tokens_as_token_ids ? `token_id:${id}` : decodeAlone(id));
      return {
        id: 'cmpl-1',
        object: 'text_completion',
        model: name,
        choices: [{
          index: 0,
          text: prompt.map(decodeAlone).join(''),
          logprobs: {
            tokens: prompt.map(asId),
            token_logprobs: scores.logprobs.map((lp, i) => (i === 0 ? null : clamp(lp))),
            top_logprobs: scores.top.map((row, i) => (i === 0 ? null : Object.fromEntries(row.map((t) => [asId(t.id), clamp(t.logprob)])))),
            text_offset: prompt.map((_, i) => prompt.slice(0, i).map(decodeAlone).join('').length),
          },
          finish_reason: 'length',
          prompt_logprobs: promptLogprobs,
        }],
        usage: { prompt_tokens: prompt.length, completion_tokens: maxTokens, total_tokens: prompt.length + maxTokens },
      };
    }
    throw new HttpAnswer(404, { detail: 'Not Found' });
  };

  const sglangRoutes = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    if (path === '/get_model_info') return { model_path: name, tokenizer_path: name, is_generation: true };
    if (path === '/v1/models') return { object: 'list', data: [{ id: name, object: 'model', owned_by: 'sglang', root: name, max_model_len: context }] };
    if (path === '/generate') {
      const params = (body.sampling_params ?? {}) as Record<string, unknown>;
      const maxNew = Number(params.max_new_tokens ?? 128);
      if (maxNew === 0 && options.refuseZeroNewTokens) throw new HttpAnswer(400, { error: { message: 'max_new_tokens must be at least 1' } });
      const prompt = withBos(String(body.text));
      if (prompt.length + maxNew > context) {
        throw new HttpAnswer(400, { error: { message: `The input (${prompt.length} tokens) is longer than the model's context length (${context} tokens).` } });
      }
      const k = Number(body.top_logprobs_num ?? 0);
      // A generated token is predicted from the last row: scored by appending any token.
      const scores = await scorePrompt(model, maxNew > 0 ? [...prompt, prompt[prompt.length - 1]!] : prompt, Math.max(1, k));
      const start = Number(body.logprob_start_len ?? -1);
      const triple = (lp: number | null, id: number) => [lp, id, body.return_text_in_logprobs ? decodeAlone(id) : null];
      const inputs = start < 0 ? [] : prompt.map((id, i) => triple(i === 0 ? null : scores.logprobs[i]!, id));
      const inputTops = start < 0 ? [] : prompt.map((_, i) => (i === 0 ? null : scores.top[i]!.slice(0, k).map((t) => triple(t.logprob, t.id))));
      const next = scores.top[prompt.length] ?? [];
      return {
        text: maxNew > 0 ? decodeAlone(next[0]!.id) : '',
        meta_info: {
          id: 'req-1',
          prompt_tokens: prompt.length,
          completion_tokens: maxNew,
          input_token_logprobs: inputs,
          input_top_logprobs: inputTops,
          output_token_logprobs: maxNew > 0 ? [triple(next[0]!.logprob, next[0]!.id)] : [],
          output_top_logprobs: maxNew > 0 ? [next.slice(0, k).map((t) => triple(t.logprob, t.id))] : [],
        },
      };
    }
    throw new HttpAnswer(404, { detail: 'Not Found' });
  };

  const tgiRoutes = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    if (path === '/info') return { model_id: name, model_sha: null, model_pipeline_tag: 'text-generation', max_input_tokens: context - 1, max_total_tokens: context, version: '3.0.0' };
    if (path === '/generate') {
      const params = (body.parameters ?? {}) as Record<string, unknown>;
      const maxNew = Number(params.max_new_tokens ?? 100);
      if (maxNew < 1) throw new HttpAnswer(422, { error: 'Input validation error: `max_new_tokens` must be strictly positive', error_type: 'validation' });
      const prompt = withBos(String(body.inputs));
      if (prompt.length + maxNew > context) {
        throw new HttpAnswer(422, { error: `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${context}. Given: ${prompt.length} \`inputs\` tokens and ${maxNew} \`max_new_tokens\``, error_type: 'validation' });
      }
      const topN = Number(params.top_n_tokens ?? 0);
      if (topN > 5) throw new HttpAnswer(422, { error: 'Input validation error: `top_n_tokens` must be >= 0 and <= 5. Given: ' + topN, error_type: 'validation' });
      const withNext = [...prompt, prompt[prompt.length - 1]!];
      const scores = await scorePrompt(model, withNext, Math.max(1, topN));
      const next = scores.top[prompt.length]!;
      const token = (t: { id: number; logprob: number }) => ({ id: t.id, text: decodeAlone(t.id), logprob: t.logprob, special: t.id === bos });
      return {
        generated_text: decodeAlone(next[0]!.id),
        details: {
          finish_reason: 'length',
          generated_tokens: 1,
          seed: null,
          prefill: params.decoder_input_details ? prompt.map((id, i) => ({ id, text: decodeAlone(id), logprob: i === 0 ? null : scores.logprobs[i] })) : [],
          tokens: [token(next[0]!)],
          top_tokens: topN > 0 ? [next.slice(0, topN).map(token)] : [],
        },
      };
    }
    throw new HttpAnswer(404, { error: 'Not Found', error_type: 'not_found' });
  };

  const routes = kind === 'vllm' ? vllmRoutes : kind === 'sglang' ? sglangRoutes : tgiRoutes;
  const engine: FakeEngine = {
    url: '',
    calls,
    fault: undefined,
    tamper: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const path = (request.url ?? '/').split('?')[0]!;
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = raw === '' ? undefined : (JSON.parse(raw) as Record<string, unknown>);
        const call: RecordedCall = { method: request.method ?? 'GET', path, body, headers: request.headers };
        calls.push(call);
        options.onCall?.(call);
        const fault = engine.fault?.(call);
        if (fault?.kind === 'hang') return;
        if (fault?.kind === 'drop') return void request.socket.destroy();
        if (fault?.kind === 'status') {
          response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
          return void response.end(fault.body ?? '');
        }
        if (fault?.kind === 'raw') {
          response.writeHead(200, { 'content-type': 'application/json' });
          return void response.end(fault.body);
        }
        try {
          let answer = (await routes(path, body ?? {})) as Record<string, unknown>;
          if (engine.tamper) answer = engine.tamper(path, answer);
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(answer));
        } catch (error) {
          const status = error instanceof HttpAnswer ? error.status : 500;
          const json = error instanceof HttpAnswer ? error.json : { error: String(error) };
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(json));
        }
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  (engine as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return engine;
}
