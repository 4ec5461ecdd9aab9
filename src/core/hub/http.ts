/**
 * The few HTTP requests the Hub needs, on node:http(s) so redirects, Range and timeouts stay
 * under our control: the token goes only to the Hub's own origin (never to the content host a
 * large file redirects to), and no message ever carries it.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';

export type HubErrorCode =
  | 'cancelled'
  | 'network'
  | 'timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'server'
  | 'bad-response'
  | 'checksum'
  | 'size-mismatch'
  | 'disk-space'
  | 'file-system'
  | 'busy'
  | 'no-graph'
  | 'no-tokenizer'
  | 'no-config'
  | 'no-dtype'
  | 'invalid-input';

/** A download problem; the message is one line meant for the user and never holds the token. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    /** Worth another try (lost connection, timeout, 5xx): the download resumes where it stopped. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface ProxySettings {
  /** `http://host:port` (user:password@ allowed); empty for none. */
  readonly url: string;
  /** Verify the TLS certificates of the proxy and of the servers behind it (VS Code `http.proxyStrictSSL`). */
  readonly strictSSL?: boolean;
}

export interface HttpSettings {
  /** The Hub's base URL (or a mirror's): the only origin that receives the token. */
  readonly endpoint: string;
  readonly token?: string;
  readonly proxy?: ProxySettings;
  /** A request fails when no byte arrives for this long (headers or body). */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface RequestOptions {
  readonly method: 'GET' | 'HEAD';
  readonly headers?: Readonly<Record<string, string>>;
  /** 'all': follow to the content host (downloads); 'same-origin': stop at a cross-origin redirect (metadata). */
  readonly redirects: 'all' | 'same-origin';
}

export interface HubResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Where the response came from (after redirects). */
  readonly url: URL;
  readonly body: http.IncomingMessage;
  /** True when `url` is the Hub endpoint's origin (a Hub response, not the content host's). */
  readonly fromHub: boolean;
}

const MAX_REDIRECTS = 5;

/** Sends a request and follows redirects as asked; the body is left unread for the caller. */
export async function hubRequest(url: URL, options: RequestOptions, settings: HttpSettings): Promise<HubResponse> {
  const hubOrigin = new URL(settings.endpoint).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const fromHub = current.origin === hubOrigin;
    const headers: Record<string, string> = { 'user-agent': 'surprisal-lens', ...options.headers };
    // The token is for the Hub alone: a content host's signed URL must never see it.
    if (fromHub && settings.token) headers.authorization = `Bearer ${settings.token}`;
    const response = await requestOnce(current, options.method, headers, settings);
    const location = response.headers.location;
    const isRedirect = [301, 302, 303, 307, 308].includes(response.statusCode ?? 0) && typeof location === 'string';
    if (!isRedirect) return { status: response.statusCode ?? 0, headers: response.headers, url: current, body: response, fromHub };
    const next = new URL(location, current);
    if (options.redirects === 'same-origin' && next.origin !== current.origin) {
      return { status: response.statusCode ?? 0, headers: response.headers, url: current, body: response, fromHub };
    }
    response.resume();
    if (hop >= MAX_REDIRECTS) throw new HubError('bad-response', `Too many redirects from ${current.host}`);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new HubError('bad-response', `Redirect to an unsupported URL scheme from ${current.host}`);
    current = next;
  }
}

function requestOnce(url: URL, method: string, headers: Record<string, string>, settings: HttpSettings): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (settings.signal?.aborted) return reject(cancelled());
    const secure = url.protocol === 'https:';
    const request = (secure ? https : http).request(url, { method, headers, agent: agentFor(url, settings), signal: settings.signal });
    request.setTimeout(settings.idleTimeoutMs, () => request.destroy(new HubError('timeout', `No answer from ${url.host} for ${Math.round(settings.idleTimeoutMs / 1000)} s`, true)));
    request.once('response', (response) => {
      // From here the body's own idle timer (readBody) takes over.
      request.setTimeout(0);
      resolve(response);
    });
    // Kept for the request's whole life: an error after the response (an abort) must not go unhandled.
    request.on('error', (error) => reject(networkError(error, url, settings.signal)));
    request.end();
  });
}

/** Maps a socket-level failure to a one-line HubError naming only the host. */
export function networkError(error: unknown, url: URL, signal: AbortSignal | undefined): HubError {
  if (error instanceof HubError) return error;
  if (signal?.aborted || (error as Error).name === 'AbortError') return cancelled();
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOTFOUND' || code === 'EAI_AGAIN'
    ? 'host not found (no network?)'
    : code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ECONNRESET' || (error as Error).message === 'aborted'
        ? 'connection lost'
        : code ?? (error as Error).message.split('\n')[0];
  return new HubError('network', `Cannot reach ${url.host}: ${reason}`, true);
}

export function cancelled(): HubError {
  return new HubError('cancelled', 'Download cancelled');
}

/** HTTPS_PROXY / HTTP_PROXY as curl reads them, skipped for loopback and NO_PROXY hosts. */
export function proxyFromEnv(endpoint: string | undefined, env: NodeJS.ProcessEnv): ProxySettings | undefined {
  let url: URL;
  try {
    url = new URL(endpoint ?? 'https://huggingface.co');
  } catch {
    return undefined;
  }
  const proxy = url.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy;
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || host.startsWith('127.')) return undefined;
  const noProxy = (env.NO_PROXY || env.no_proxy || '').split(',').map((h) => h.trim().replace(/^\*?\./, '')).filter(Boolean);
  if (noProxy.some((h) => h === '*' || host === h || host.endsWith(`.${h}`))) return undefined;
  return { url: proxy };
}

const agents = new Map<string, http.Agent>();

function agentFor(url: URL, settings: HttpSettings): http.Agent | undefined {
  const secure = url.protocol === 'https:';
  const proxyUrl = settings.proxy?.url.trim() ?? '';
  const strictSSL = settings.proxy?.strictSSL ?? true;
  if (proxyUrl === '' && strictSSL) return undefined;
  const key = `${url.protocol}|${proxyUrl}|${strictSSL}`;
  let agent = agents.get(key);
  if (!agent) {
    // http(s)-proxy-agent: the maintained agents (proxy-agents monorepo) that VS Code's own
    // proxy support builds on; CONNECT tunnels for https, absolute-URI requests for http.
    if (proxyUrl !== '') agent = secure ? new HttpsProxyAgent(proxyUrl, { rejectUnauthorized: strictSSL }) : new HttpProxyAgent(proxyUrl);
    else agent = new https.Agent({ rejectUnauthorized: false });
    agents.set(key, agent);
  }
  return agent;
}

/**
 * Calls `onChunk` for every chunk of the body; fails with a retryable timeout when no byte
 * arrives for `idleTimeoutMs`, and with 'cancelled' when the signal fires.
 */
export async function readBody(
  response: HubResponse,
  settings: HttpSettings,
  onChunk: (chunk: Buffer) => Promise<void> | void,
): Promise<void> {
  const body = response.body;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new HubError('timeout', `${response.url.host} stopped sending for ${Math.round(settings.idleTimeoutMs / 1000)} s`, true)), settings.idleTimeoutMs);
  };
  let callerError: unknown;
  try {
    arm();
    for await (const chunk of body) {
      arm();
      try {
        await onChunk(chunk as Buffer);
      } catch (error) {
        callerError = error;
        throw error;
      }
    }
  } catch (error) {
    // A failure of the caller's own (a full disk) is not a network problem.
    if (error === callerError) throw error;
    throw networkError(error, response.url, settings.signal);
  } finally {
    clearTimeout(timer);
  }
  if (settings.signal?.aborted) throw cancelled();
}

/** Reads a small body (JSON) fully, refusing one larger than `limit` bytes. */
export async function readSmallBody(response: HubResponse, settings: HttpSettings, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    response.body.destroy();
    throw new HubError('bad-response', `${what} is too large (${declared} bytes announced, at most ${limit} expected)`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  await readBody(response, settings, (chunk) => {
    length += chunk.length;
    if (length > limit) {
      const error = new HubError('bad-response', `${what} is too large (more than ${limit} bytes)`);
      response.body.destroy(error);
      throw error;
    }
    chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

/**
 * The error for a Hub answer that is not a success; `X-Error-Message` (what the Hub says
 * went wrong) is kept, cut to one line, with any echo of the token removed.
 */
export function statusError(response: HubResponse, what: string, settings: HttpSettings, tokenHint: string): HubError {
  response.body.resume();
  const status = response.status;
  const hubSays = oneLine(headerText(response.headers['x-error-message']), settings.token);
  const detail = hubSays ? ` (the Hub says: ${hubSays})` : '';
  if (status === 401) {
    return settings.token
      ? new HubError('unauthorized', `${what}: the Hub refused the token (HTTP 401)${detail}. Check that it is valid and has read access.`)
      : new HubError('unauthorized', `${what}: the repository is gated or private, or does not exist (HTTP 401)${detail}. Accept its terms on the Hub, then ${tokenHint}.`);
  }
  if (status === 403) return new HubError('forbidden', `${what}: access denied (HTTP 403)${detail}. For a gated repository, accept its terms on the Hub with the account the token belongs to.`);
  if (status === 404) return new HubError('not-found', `${what}: not found (HTTP 404)${detail}. Check the repository id, revision and file name.`);
  if (status === 429) return new HubError('server', `${what}: too many requests (HTTP 429); try again later.`, true);
  if (status >= 500) return new HubError('server', `${what}: server error (HTTP ${status}) from ${response.url.host}`, true);
  return new HubError('bad-response', `${what}: unexpected HTTP ${status} from ${response.url.host}`);
}

export function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** One printable line of at most 200 characters, without the token. */
export function oneLine(text: string, token: string | undefined): string {
  let line = text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e\u00a0-\uffff]/g, '').trim();
  if (token) line = line.split(token).join('***');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
