/**
 * The rule behind "Send the text of documents to <host>?": never in an untrusted workspace,
 * answers remembered per server (both ways), one question for requests that wait together,
 * and a command that forgets every answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerConsent, type ConsentAnswer } from '../../src/core/remote/serverConsent';

const A = 'https://a.example:8000';
const B = 'http://127.0.0.1:30000';

function setup(answer: ConsentAnswer | (() => Promise<ConsentAnswer>), trusted = true) {
  let stored = { allowed: [] as readonly string[], declined: [] as readonly string[] };
  const asked: string[] = [];
  const state = { trusted };
  const consent = new ServerConsent({
    isTrusted: () => state.trusted,
    answers: { get: () => stored, set: async (a) => void (stored = a) },
    ask: async (host, url) => {
      asked.push(`${host} ${url}`);
      return typeof answer === 'function' ? answer() : answer;
    },
  });
  return { consent, asked, state, stored: () => stored };
}

describe('ServerConsent', () => {
  it('an untrusted workspace is refused without a question, even for a server allowed before', async () => {
    const t = setup('send', false);
    assert.equal(await t.consent.allow('a.example:8000', A), false);
    assert.deepEqual(t.asked, []);
    t.state.trusted = true;
    assert.equal(await t.consent.allow('a.example:8000', A), true);
    t.state.trusted = false;
    assert.equal(await t.consent.allow('a.example:8000', A), false, 'a yes does not hold once the workspace is untrusted');
    assert.equal(t.asked.length, 1);
  });

  it('"send" is asked once per server and remembered; another server is asked on its own', async () => {
    const t = setup('send');
    assert.equal(await t.consent.allow('a.example:8000', A), true);
    assert.equal(await t.consent.allow('a.example:8000', A), true);
    assert.deepEqual(t.asked, [`a.example:8000 ${A}`]);
    assert.deepEqual(t.stored().allowed, [A]);
    assert.equal(await t.consent.allow('127.0.0.1:30000', B), true);
    assert.equal(t.asked.length, 2);
  });

  it('"don\'t send" is remembered too, so scoring never asks again until the answers are forgotten', async () => {
    let answer: ConsentAnswer = 'dontSend';
    const t = setup(async () => answer);
    assert.equal(await t.consent.allow('a.example:8000', A), false);
    assert.equal(await t.consent.allow('a.example:8000', A), false);
    assert.equal(t.asked.length, 1);
    assert.deepEqual(t.stored(), { allowed: [], declined: [A] });
    await t.consent.forget();
    answer = 'send';
    assert.equal(await t.consent.allow('a.example:8000', A), true);
    assert.equal(t.asked.length, 2);
    assert.deepEqual(t.stored(), { allowed: [A], declined: [] });
  });

  it('a question closed without an answer is a no for now, not stored', async () => {
    const t = setup('dismissed');
    assert.equal(await t.consent.allow('a.example:8000', A), false);
    assert.equal(await t.consent.allow('a.example:8000', A), false);
    assert.equal(t.asked.length, 1);
    assert.deepEqual(t.stored(), { allowed: [], declined: [] });
    await t.consent.forget();
    await t.consent.allow('a.example:8000', A);
    assert.equal(t.asked.length, 2, 'forget asks again');
  });

  it('requests waiting together share one question', async () => {
    let release!: (a: ConsentAnswer) => void;
    const t = setup(() => new Promise<ConsentAnswer>((resolve) => (release = resolve)));
    const waiting = [t.consent.allow('a.example:8000', A), t.consent.allow('a.example:8000', A), t.consent.allow('a.example:8000', A)];
    await new Promise((resolve) => setImmediate(resolve));
    release('send');
    assert.deepEqual(await Promise.all(waiting), [true, true, true]);
    assert.equal(t.asked.length, 1);
  });
});
