/**
 * The one error a remote scoring failure becomes: a code for callers that react to it (the
 * status bar, retries) and a one-line message for people. Messages name the server's host
 * and what went wrong; they never hold an API key or the document's text.
 */
export type RemoteErrorCode =
  /** Nothing answered at the address (refused, DNS, connection dropped). */
  | 'unreachable'
  /** No answer within the request timeout. */
  | 'timeout'
  /** The server answered with an HTTP error status (after retries for 429/503). */
  | 'http'
  /** The server answered with a redirect: documents are only sent to the configured URL. */
  | 'redirect'
  /** The answer was not what the API documents (malformed JSON, missing fields, wrong lengths, impossible numbers). */
  | 'bad-response'
  /** The answer was larger than the limit for one response. */
  | 'too-large'
  /** The server's tokens could not be matched to the document's characters. */
  | 'alignment'
  /** The server does not offer what scoring needs (no prompt log-probabilities, unknown API). */
  | 'unsupported'
  /** The settings are unusable (bad URL, scheme). */
  | 'config'
  /** The person did not allow sending documents to this server (`RemoteBackendOptions.allowSending`). */
  | 'refused';

export class RemoteError extends Error {
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
    /** The HTTP status, when the server answered with one. */
    readonly status?: number,
    /** The server's own error text (one line, shortened), for callers that react to it. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}
