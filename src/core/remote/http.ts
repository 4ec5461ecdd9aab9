/**
 * JSON over HTTP to one inference server, on Node's global fetch (undici): no library
 * needed for plain JSON requests, and fetch gives us what matters here: `redirect:
 * 'manual'` (a document is never sent anywhere but the configured URL), abort signals,
 * and a body stream we can stop reading at a size limit.
 *
 * Every failure becomes one `RemoteError` whose message names the host and never holds the
 * API key; a cancelled request becomes `CancelledError`. 429 and 503 (overloaded, model
 * still loading) are retried with backoff, honouring `Retry-After`; nothing else is retried,
 * so a request the server refused is never sent twice.
 */
import { CancelledError } from '../types';
import { RemoteError } from './remoteError';

export interface RemoteHttpOptions {
  /** The server's base URL (scheme, host, port, optional path prefix). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer ...` to `baseUrl` only. */
  readonly apiKey?: string;
  /** One request (headers and body) may take this long; default 120 s (a long window on a busy GPU). */
  readonly timeoutMs?: number;
  /** Larger answers are refused; default 256 MiB. */
  readonly maxResponseBytes?: number;
  /** Extra tries after a 429 or 503; default 4. */
  readonly retries?: number;
  /** First backoff delay when the server sends no `Retry-After`; doubled per try. Default 500 ms. */
  readonly retryBaseMs?: number;
  /** Longest wait between tries, whatever `Retry-After` says; default 30 s. */
  readonly maxRetryDelayMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
const DEFAULT_RETRIES = 4;
const DEFAULT_RETRY_BASE_MS = 500;
const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** Server error texts are cut to this many characters: enough to read, too short to echo a document. */
const DETAIL_CHARS = 200;

export class RemoteHttp {
  readonly origin: string;
  /** host[:port], for messages and the status bar. */
  readonly host: string;
  private readonly base: URL;

  constructor(private readonly options: RemoteHttpOptions) {
    this.base = parseServerUrl(options.baseUrl);
    this.origin = this.base.origin;
    this.host = this.base.host;
  }

  /** The URL as shown to people: no credentials, no query. */
  get displayUrl(): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}`;
  }

  get(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.request('GET', path, undefined, signal);
  }

  post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.request('POST', path, body, signal);
  }

  /** The parsed JSON of a 2xx answer; any other outcome throws `RemoteError` or `CancelledError`. */
  async request(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const retries = this.options.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.once(method, path, body, signal);
      if (outcome.kind === 'ok') return outcome.json;
      const busy = outcome.status === 429 || outcome.status === 503;
      if (!busy || attempt >= retries) {
        const tries = attempt > 0 ? ` after ${attempt + 1} tries` : '';
        const detail = outcome.detail ? `: ${outcome.detail}` : '';
        throw new RemoteError('http', `${this.host} answered ${path} with HTTP ${outcome.status}${tries}${detail}`, outcome.status, outcome.detail);
      }
      const base = this.options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
      const delay = Math.min(this.options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS, outcome.retryAfterMs ?? base * 2 ** attempt);
      await sleep(delay, signal);
    }
  }

  private async once(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ kind: 'ok'; json: unknown } | { kind: 'error'; status: number; detail: string; retryAfterMs: number | undefined }> {
    if (signal?.aborted) throw new CancelledError();
    const url = this.urlOf(path);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const failed = (error: unknown, stage: string): never => {
      if (signal?.aborted) throw new CancelledError();
      if (timeout.aborted) throw new RemoteError('timeout', `${this.host} did not answer ${path} within ${Math.round((this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`);
      if (error instanceof RemoteError) throw error;
      throw new RemoteError('unreachable', `${this.host} ${stage} (${this.redact(causeOf(error))})`);
    };
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: combined,
      });
    } catch (error) {
      return failed(error, 'cannot be reached');
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      const where = location ? ` to ${safeHost(location, url)}` : '';
      throw new RemoteError(
        'redirect',
        `${this.host} redirected ${path}${where}; documents are sent only to the configured URL, so set surprisalLens.remote.url to the final address`,
        response.status,
      );
    }
    let text: string;
    try {
      text = await this.readBody(response, path);
    } catch (error) {
      return failed(error, `dropped the connection while answering ${path}`);
    }
    if (response.status < 200 || response.status >= 300) {
      return { kind: 'error', status: response.status, detail: this.redact(errorDetail(text)), retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    }
    return { kind: 'ok', json: parseJsonLenient(text, () => new RemoteError('bad-response', `${this.host} answered ${path} with malformed JSON`)) };
  }

  private urlOf(path: string): URL {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}${path}`, this.base.origin);
  }

  private async readBody(response: Response, path: string): Promise<string> {
    const limit = this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const tooLarge = () => new RemoteError('too-large', `${this.host} answered ${path} with more than ${formatBytes(limit)}; score a shorter document or lower surprisalLens.topK`);
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!response.body) return '';
    const reader = response.body.getReader();
    const decoder = new TextDecoder('utf-8');
    let received = 0;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      text += decoder.decode(value, { stream: true });
    }
    return text + decoder.decode();
  }

  /** Removes the API key from text that came from elsewhere (a server may echo headers). */
  private redact(text: string): string {
    const key = this.options.apiKey;
    return key ? text.split(key).join('***') : text;
  }
}

/**
 * The server URL, checked: http(s) only, no credentials in it, and `https` unless the host
 * is this machine (a document read by a network observer is a document leaked).
 */
export function parseServerUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new RemoteError('config', `The server URL is not a URL: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteError('config', `The server URL must start with https:// (got ${url.protocol})`);
  if (url.username || url.password) throw new RemoteError('config', 'The server URL must not hold a user name or password; set the API key with the Set Remote API Key command');
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new RemoteError('config', `The server URL must use https:// for ${url.host} (plain http is allowed only for this machine: forward the port, e.g. ssh -L 8000:localhost:8000 ${url.hostname})`);
  }
  url.search = '';
  url.hash = '';
  // OpenAI-style clients are configured with ".../v1"; our paths carry their own prefix.
  url.pathname = url.pathname.replace(/\/v1\/?$/, '/');
  return url;
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * JSON.parse, accepting what Python's json module writes for non-finite floats (`NaN`,
 * `Infinity`, `-Infinity`, outside strings): NaN becomes null, the infinities become
 * +-Infinity (via 1e999), so a -inf log-probability keeps its meaning.
 */
export function parseJsonLenient(text: string, malformed: () => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // fall through
  }
  if (!/NaN|Infinity/.test(text)) throw malformed();
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
    } else if (text.startsWith('NaN', i)) {
      out += 'null';
      i += 2;
    } else if (text.startsWith('-Infinity', i)) {
      out += '-1e999';
      i += 8;
    } else if (text.startsWith('Infinity', i)) {
      out += '1e999';
      i += 7;
    } else {
      out += ch;
    }
  }
  try {
    return JSON.parse(out);
  } catch {
    throw malformed();
  }
}

/** The server's error text: the `message`/`error`/`detail` field of a JSON body, or the body; one short line. */
function errorDetail(body: string): string {
  let detail = body;
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const pick = (value: unknown): string | undefined => {
      if (typeof value === 'string') return value;
      if (value && typeof value === 'object') {
        const v = value as Record<string, unknown>;
        return pick(v.message) ?? pick(v.error) ?? pick(v.detail);
      }
      if (Array.isArray(value)) return pick(value[0]);
      return undefined;
    };
    detail = pick(json) ?? body;
  } catch {
    // not JSON: the body itself
  }
  const line = detail.replace(/\s+/g, ' ').trim();
  return line.length > DETAIL_CHARS ? `${line.slice(0, DETAIL_CHARS)}…` : line;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header.trim());
  if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function safeHost(location: string, base: URL): string {
  try {
    return new URL(location, base).host;
  } catch {
    return 'another address';
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
