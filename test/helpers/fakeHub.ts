/**
 * A local stand-in for the Hugging Face Hub, with the URL layout, statuses and headers of
 * shared/MODEL-SOURCES.md, and a second server as the content host that large files redirect
 * to. Each request is recorded (with its headers) and can be made to misbehave.
 *
 * Hub (`endpoint`):
 *   GET  /api/models/{repo}[/revision/{rev}]  -> JSON {id, sha, siblings: [{rfilename}]};
 *        401 for an unknown repository without a token (404 with one)
 *   HEAD|GET /{repo}/resolve/{rev}/{path}     -> small files: 200 + ETag (git blob sha1);
 *        large files (*.onnx, *_data): 302 to the content host + X-Linked-Size, X-Linked-Etag
 *        (sha256); both with X-Repo-Commit; gated repositories 401 without a valid token
 * Content host: GET|HEAD /blobs/{sha256}?signature -> the bytes, with Range (206 + Content-Range).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  readonly files: Readonly<Record<string, Buffer>>;
  readonly gated?: boolean;
}

export interface RecordedRequest {
  readonly server: 'hub' | 'content' | 'proxy';
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** For file requests: the file's path in the repository (hub) or its sha256 (content). */
  readonly file?: string;
}

export type FaultAction =
  /** Sends this many body bytes, then closes the connection. */
  | { readonly kind: 'drop-after'; readonly bytes: number }
  /** Sends the right length with one byte flipped. */
  | { readonly kind: 'corrupt' }
  /** Sends the right length with the last byte of a JSON file replaced, so it no longer parses. */
  | { readonly kind: 'truncate-json' }
  /** Sends `chunk` bytes every `everyMs` ms. */
  | { readonly kind: 'trickle'; readonly chunk: number; readonly everyMs: number }
  /** Sends the headers and this many bytes, then nothing, keeping the connection open. */
  | { readonly kind: 'hang-after'; readonly bytes: number }
  /** Answers with this status (and headers), no body. */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string> }
  /** Replaces response headers (e.g. a huge X-Linked-Size or Content-Length). */
  | { readonly kind: 'headers'; readonly headers: Record<string, string> }
  /** Sends this many extra bytes after the content (Content-Length left unset). */
  | { readonly kind: 'extra-bytes'; readonly bytes: number }
  /** Answers a Range request with the whole file (200). */
  | { readonly kind: 'ignore-range' };

export type FaultRule = (request: RecordedRequest) => FaultAction | undefined;

export interface FakeHub {
  readonly endpoint: string;
  readonly contentOrigin: string;
  readonly requests: RecordedRequest[];
  /** Body bytes the content host sent, per response, in order. */
  readonly contentBytesSent: number[];
  fault: FaultRule | undefined;
  /** Replaces a repository's files: a new commit. */
  setRepo(repo: string, value: FakeRepo): string;
  commitOf(repo: string): string;
  close(): Promise<void>;
}

export const VALID_TOKEN = 'hf_fakeValidToken0123456789';

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

const isLarge = (path: string) => path.endsWith('.onnx') || /\.onnx_data(_\d+)?$/.test(path);

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const state = new Map<string, { repo: FakeRepo; commit: string }>();
  const blobs = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const contentBytesSent: number[] = [];
  const setRepo = (name: string, repo: FakeRepo) => {
    const commit = randomBytes(20).toString('hex');
    state.set(name, { repo, commit });
    for (const content of Object.values(repo.files)) blobs.set(sha256(content), content);
    return commit;
  };
  for (const [name, repo] of Object.entries(repos)) setRepo(name, repo);

  let contentOrigin = '';
  const hub: FakeHub = {
    endpoint: '',
    contentOrigin: '',
    requests,
    contentBytesSent,
    fault: undefined,
    setRepo,
    commitOf: (repo) => state.get(repo)!.commit,
    close: async () => {
      for (const server of [hubServer, contentServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };

  const hubServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const path = decodeURIComponent(url.pathname);
    const auth = req.headers.authorization;
    const validToken = auth === `Bearer ${VALID_TOKEN}`;
    const api = /^\/api\/models\/([^/]+\/[^/]+?)(?:\/revision\/(.+))?$/.exec(path);
    const resolveMatch = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const record: RecordedRequest = { server: 'hub', method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers, file: resolveMatch?.[3] };
    requests.push(record);
    const fault = hub.fault?.(record);
    if (fault?.kind === 'status') return void res.writeHead(fault.status, fault.headers ?? {}).end();

    const name = api?.[1] ?? resolveMatch?.[1];
    const entry = name ? state.get(name) : undefined;
    if (!name || !entry) {
      // Unknown or private repositories answer 401 without a token (MODEL-SOURCES.md).
      if (!auth) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' }).end();
      return void res.writeHead(404, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' }).end();
    }
    if (auth && !validToken) return void res.writeHead(401, { 'x-error-message': 'Invalid credentials in Authorization header' }).end();
    const revision = api ? (api[2] ?? 'main') : resolveMatch![2];
    if (revision !== 'main' && revision !== entry.commit) {
      return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound', 'x-error-message': `Invalid rev id: ${revision}` }).end();
    }
    if (api) {
      const body = JSON.stringify({ id: name, sha: entry.commit, gated: entry.repo.gated ? 'manual' : false, siblings: Object.keys(entry.repo.files).map((rfilename) => ({ rfilename })) });
      return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    }
    if (entry.repo.gated && !validToken) {
      return void res.writeHead(401, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.` }).end();
    }
    const file = resolveMatch![3];
    const content = entry.repo.files[file];
    if (!content) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-error-message': `${file} does not exist on "${revision}"` }).end();
    const headers: Record<string, string> = { 'x-repo-commit': entry.commit };
    if (isLarge(file)) {
      const digest = sha256(content);
      Object.assign(headers, {
        location: `${contentOrigin}/blobs/${digest}?X-Amz-Signature=${randomBytes(8).toString('hex')}`,
        'x-linked-size': String(content.length),
        'x-linked-etag': `"${digest}"`,
        etag: `"${digest}"`,
        'content-length': '0',
      }, fault?.kind === 'headers' ? fault.headers : {});
      return void res.writeHead(302, headers).end();
    }
    Object.assign(headers, { etag: `"${gitBlobSha1(content)}"`, 'content-length': String(content.length) }, fault?.kind === 'headers' ? fault.headers : {});
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return void res.end();
    send(res, content, fault, () => undefined);
  });

  const contentServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://content');
    const digest = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const record: RecordedRequest = { server: 'content', method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers, file: digest };
    requests.push(record);
    const fault = hub.fault?.(record);
    if (fault?.kind === 'status') return void res.writeHead(fault.status, fault.headers ?? {}).end();
    const content = digest ? blobs.get(digest) : undefined;
    if (!content || !url.searchParams.has('X-Amz-Signature')) return void res.writeHead(403).end();
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let body = content;
    const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag: `"${digest}"` };
    let status = 200;
    if (range && fault?.kind !== 'ignore-range') {
      const start = Number(range[1]);
      const end = range[2] === '' ? content.length - 1 : Math.min(Number(range[2]), content.length - 1);
      if (start >= content.length) return void res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
      body = content.subarray(start, end + 1);
      headers['content-range'] = `bytes ${start}-${end}/${content.length}`;
      status = 206;
    }
    if (fault?.kind !== 'extra-bytes') headers['content-length'] = String(body.length);
    Object.assign(headers, fault?.kind === 'headers' ? fault.headers : {});
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    send(res, body, fault, (sent) => contentBytesSent.push(sent));
  });

  await Promise.all([listen(hubServer), listen(contentServer)]);
  contentOrigin = `http://127.0.0.1:${(contentServer.address() as AddressInfo).port}`;
  Object.assign(hub, { endpoint: `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`, contentOrigin });
  return hub;
}

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

function send(res: http.ServerResponse, body: Buffer, fault: FaultAction | undefined, report: (sent: number) => void): void {
  let reported = false;
  const done = (sent: number) => {
    if (!reported) report(sent);
    reported = true;
  };
  switch (fault?.kind) {
    case 'drop-after':
      res.write(body.subarray(0, fault.bytes), () => {
        done(Math.min(fault.bytes, body.length));
        // The connection goes a moment after the bytes, as a real drop would: a client drops
        // what it had buffered but not yet read when the socket closes under it.
        setTimeout(() => res.socket?.end(), 200);
      });
      return;
    case 'corrupt': {
      const copy = Buffer.from(body);
      copy[copy.length >> 1] ^= 0xff;
      res.end(copy, () => done(copy.length));
      return;
    }
    case 'truncate-json': {
      const copy = Buffer.from(body);
      copy[copy.length - 1] = 0x20;
      copy[copy.lastIndexOf('}')] = 0x20;
      res.end(copy, () => done(copy.length));
      return;
    }
    case 'hang-after':
      res.write(body.subarray(0, fault.bytes), () => done(fault.bytes));
      return;
    case 'extra-bytes':
      res.end(Buffer.concat([body, randomBytes(fault.bytes)]), () => done(body.length + fault.bytes));
      return;
    case 'trickle': {
      let offset = 0;
      const tick = () => {
        if (res.destroyed) return done(offset);
        const next = body.subarray(offset, offset + fault.chunk);
        offset += next.length;
        if (offset >= body.length) return void res.end(next, () => done(offset));
        res.write(next);
        setTimeout(tick, fault.everyMs);
      };
      res.on('close', () => (offset < body.length ? done(offset) : undefined));
      tick();
      return;
    }
    default:
      res.end(body, () => done(body.length));
  }
}

/**
 * A forward proxy for http:// targets (absolute-URI requests, as http-proxy-agent sends
 * them); records each request it relays.
 */
export async function startFakeProxy(requests: RecordedRequest[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    requests.push({ server: 'proxy', method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers });
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = http.request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
