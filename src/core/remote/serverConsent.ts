/**
 * Whether a document's text may go to an inference server: the rule behind the question the
 * editor asks before the first request to a server. Pure (the editor supplies the question,
 * the trust flag and where answers are kept), so the rule is unit-tested without an editor.
 *
 * - Never in an untrusted workspace: refused without asking (a workspace someone else wrote
 *   must not be able to send your files anywhere, even with your user settings).
 * - A server's answer is remembered by its URL: "send" and "don't send" both persist; a
 *   question closed without an answer counts as "no" until the window reloads.
 * - Several requests waiting on the same server share one question.
 * - `forget()` (a command) drops every answer, so the next request asks again.
 */

/** The question's outcome: a remembered answer, or closed without one. */
export type ConsentAnswer = 'send' | 'dontSend' | 'dismissed';

/** Where answers live across sessions (the editor's global state). */
export interface ConsentAnswers {
  get(): { readonly allowed: readonly string[]; readonly declined: readonly string[] };
  set(answers: { readonly allowed: readonly string[]; readonly declined: readonly string[] }): Promise<void>;
}

export interface ServerConsentOptions {
  readonly isTrusted: () => boolean;
  readonly answers: ConsentAnswers;
  readonly ask: (host: string, url: string) => Promise<ConsentAnswer>;
}

export class ServerConsent {
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly dismissed = new Set<string>();

  constructor(private readonly options: ServerConsentOptions) {}

  /** Whether documents may be sent to `url` (shown to the person as `host`). */
  allow(host: string, url: string): Promise<boolean> {
    if (!this.options.isTrusted()) return Promise.resolve(false);
    const { allowed, declined } = this.options.answers.get();
    if (allowed.includes(url)) return Promise.resolve(true);
    if (declined.includes(url) || this.dismissed.has(url)) return Promise.resolve(false);
    let asking = this.pending.get(url);
    if (!asking) {
      asking = this.askOnce(host, url).finally(() => this.pending.delete(url));
      this.pending.set(url, asking);
    }
    return asking;
  }

  /** Drops every remembered answer: each server is asked again. */
  async forget(): Promise<void> {
    this.dismissed.clear();
    await this.options.answers.set({ allowed: [], declined: [] });
  }

  private async askOnce(host: string, url: string): Promise<boolean> {
    const answer = await this.options.ask(host, url);
    if (answer === 'dismissed') {
      this.dismissed.add(url);
      return false;
    }
    const { allowed, declined } = this.options.answers.get();
    const without = (list: readonly string[]) => list.filter((u) => u !== url);
    await this.options.answers.set(
      answer === 'send'
        ? { allowed: [...without(allowed), url], declined: without(declined) }
        : { allowed: without(allowed), declined: [...without(declined), url] },
    );
    return answer === 'send';
  }
}
