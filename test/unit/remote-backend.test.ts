/**
 * RemoteBackend against local servers that speak vLLM's, SGLang's and TGI's JSON (see
 * test/helpers/fakeEngines.ts for the shapes and their sources) and answer with the numbers
 * of the project's own engine on the tiny fixture model: remote and local scoring of the
 * same text must tile identically and agree to 1e-4.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/core/engine';
import type { CancellationSignal, ScoreJob } from '../../src/core/backend';
import { RemoteBackend, type RemoteBackendOptions } from '../../src/core/remote/remoteBackend';
import { RemoteError } from '../../src/core/remote/remoteError';
import { CancelledError, type DocumentScores, type ScoreSettings } from '../../src/core/types';
import { startFakeEngine, type EngineKind, type FakeEngine } from '../helpers/fakeEngines';
import { TextTokenizer } from '../../src/core/textTokenizer';
import { sentencePieceTokenizer, TINY_MODEL } from '../helpers/tokenizers';

/** Emoji, CJK, combining marks, CRLF, leading spaces: many byte-level tokens, several windows. */
const TRICKY = '  Leading spaces.\r\nCafe\u0301 na\u00efve 😀👍🏽 日本語のテキスト and\ttabs\r\n\r\nThe quick brown fox 🎉 jumps.';
const SETTINGS: ScoreSettings = { topK: 5, windowSize: 32, stride: 16 };

let model: LanguageModel;
const engines: FakeEngine[] = [];
const backends: RemoteBackend[] = [];

before(async () => {
  model = await LanguageModel.load(TINY_MODEL, { threads: 1 });
});

after(async () => {
  await Promise.all(backends.map((b) => b.dispose()));
  await Promise.all(engines.map((e) => e.close()));
  await model.dispose();
});

async function engine(kind: EngineKind, options: { refuseZeroNewTokens?: boolean; maxLogprobs?: number } = {}): Promise<FakeEngine> {
  const started = await startFakeEngine({ kind, model, ...options });
  engines.push(started);
  return started;
}

function backend(options: RemoteBackendOptions): RemoteBackend {
  const created = new RemoteBackend({ retryBaseMs: 1, ...options });
  backends.push(created);
  return created;
}

function job(text: string, settings: ScoreSettings = SETTINGS, documentKey = 'doc'): ScoreJob {
  return { documentKey, version: 1, text, settings };
}

function assertSameTokens(remote: DocumentScores, local: DocumentScores): void {
  assert.deepEqual(Array.from(remote.ids), Array.from(local.ids), 'ids');
  assert.deepEqual(Array.from(remote.starts), Array.from(local.starts), 'starts');
  assert.deepEqual(Array.from(remote.ends), Array.from(local.ends), 'ends');
}

function assertCloseLogprobs(remote: DocumentScores, local: DocumentScores): void {
  for (let i = 0; i < local.tokenCount; i++) {
    const a = remote.logprobs[i]!;
    const b = local.logprobs[i]!;
    if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `token ${i} unscored`);
    else assert.ok(Math.abs(a - b) < 1e-4, `token ${i}: remote ${a} local ${b}`);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<RemoteError> {
  let caught: unknown;
  await promise.then(() => assert.fail('expected a RemoteError'), (error: unknown) => (caught = error));
  assert.ok(caught instanceof RemoteError, `a RemoteError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

function cancellation(): { signal: CancellationSignal; cancel(): void } {
  const listeners: (() => void)[] = [];
  let cancelled = false;
  return {
    signal: {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested(listener) {
        listeners.push(listener);
        return { dispose: () => listeners.splice(listeners.indexOf(listener), 1) };
      },
    },
    cancel() {
      cancelled = true;
      for (const listener of [...listeners]) listener();
    },
  };
}

describe('vLLM (openai-completions)', () => {
  it('scores exactly like local scoring: same tokens and ranges, log-probs to 1e-4, ranks and alternatives', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    const result = await remote.score(job(TRICKY));
    const local = await model.score(TRICKY, SETTINGS);
    assert.ok(local.tokenCount > 64, 'several windows');
    assertSameTokens(result.scores, local);
    assertCloseLogprobs(result.scores, local);
    assert.deepEqual(Array.from(result.scores.ranks), Array.from(local.ranks), 'ranks');
    assert.deepEqual(Array.from(result.scores.topIds), Array.from(local.topIds), 'alternatives');
    for (let i = 0; i < local.topProbs.length; i++) assert.ok(Math.abs(result.scores.topProbs[i]! - local.topProbs[i]!) < 1e-4);
    assert.ok(result.scores.entropies.every((e) => Number.isNaN(e)), 'entropy is not reported by a server');
    assert.deepEqual(result.scores.gaps, { noAlternatives: false, ranks: 'exact', noEntropy: true });
    assert.equal(result.scores.summary.scoredTokens, local.summary.scoredTokens);

    const completions = server.calls.filter((c) => c.path === '/v1/completions');
    assert.ok(completions.length >= 4);
    for (const call of completions) {
      const body = call.body!;
      assert.equal(body.echo, true);
      assert.equal(body.max_tokens, 0);
      assert.equal(body.temperature, 0);
      assert.equal(body.prompt_logprobs, 5);
      assert.equal(body.return_tokens_as_token_ids, true);
      const prompt = body.prompt as number[];
      assert.equal(prompt[0], model.info.bosTokenId, 'each window starts with the BOS');
      assert.ok(prompt.length <= 32, 'windows of the asked size');
    }

    const loaded = await remote.load();
    assert.equal(loaded.info.remote?.api, 'openai-completions');
    assert.equal(loaded.info.remote?.label, `tiny-gpt2 on vLLM at ${new URL(server.url).host}`);
    assert.equal(loaded.info.contextLength, 64);
    assert.equal(loaded.info.bosTokenId, model.info.bosTokenId);
    assert.equal(loaded.tokenText(result.scores.ids[3]!), model.tokenizer.displayText(result.scores.ids[3]!));
  });

  it('re-scores after an edit with only the windows from the change on', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    await remote.score(job(TRICKY));
    const before = server.calls.filter((c) => c.path === '/v1/completions').length;
    const edited = `${TRICKY} More words at the end.`;
    const second = await remote.score({ ...job(edited), version: 2 });
    const windowsRun = server.calls.filter((c) => c.path === '/v1/completions').length - before;
    const fresh = await model.score(edited, SETTINGS);
    assertSameTokens(second.scores, fresh);
    assertCloseLogprobs(second.scores, fresh);
    assert.ok(second.reusedTokens > 50, `reused ${second.reusedTokens}`);
    assert.ok(windowsRun < before, `ran ${windowsRun} windows again, first scoring ran ${before}`);
    remote.release('doc');
    const third = await remote.score({ ...job(edited), version: 3 });
    assert.equal(third.reusedTokens, 0, 'released: nothing kept');
  });

  it('scores the priority range (what the editor shows) first and reports it early', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions', maxInFlight: 1 });
    const priority = { start: TRICKY.length - 10, end: TRICKY.length };
    const partials: DocumentScores[] = [];
    const result = await remote.score({ ...job(TRICKY), priority }, undefined, { onPartial: (p) => partials.push(p.scores) });
    assert.equal(partials.length, 1);
    const partial = partials[0]!;
    const last = partial.tokenCount - 1;
    assert.equal(partial.logprobs[last], result.scores.logprobs[last], 'the visible end is scored in the partial result');
    assert.ok(Number.isNaN(partial.logprobs[5]!), 'the start is not yet');
    assert.ok(!Number.isNaN(result.scores.logprobs[5]!));
    const firstPrompt = server.calls.find((c) => c.path === '/v1/completions')!.body!.prompt as number[];
    const startOfDocument = [model.info.bosTokenId, ...result.scores.ids.subarray(0, 8)];
    assert.notDeepEqual(firstPrompt.slice(0, 9), startOfDocument, 'the first window sent is not the start of the document');
  });

  it('falls back to max_tokens 1 and to the server\'s --max-logprobs when refused', async () => {
    const server = await engine('vllm', { refuseZeroNewTokens: true, maxLogprobs: 3 });
    const remote = backend({ url: server.url, api: 'openai-completions' });
    const text = 'The quick brown fox.';
    const result = await remote.score(job(text, { topK: 5, windowSize: 0, stride: 0 }));
    const local = await model.score(text, { topK: 3 });
    assertCloseLogprobs(result.scores, local);
    assert.equal(result.scores.topK, 5);
    for (let i = 0; i < result.scores.tokenCount; i++) {
      assert.deepEqual(Array.from(result.scores.topIds.subarray(i * 5, i * 5 + 3)), Array.from(local.topIds.subarray(i * 3, i * 3 + 3)));
      assert.deepEqual(Array.from(result.scores.topIds.subarray(i * 5 + 3, i * 5 + 5)), [-1, -1], 'the rest is padding');
    }
    const last = server.calls.filter((c) => c.path === '/v1/completions').at(-1)!.body!;
    assert.equal(last.max_tokens, 1);
    assert.equal(last.prompt_logprobs, 3);
  });

  it('reads -9999 (vLLM\'s clamp of -inf) and a bare -Infinity as -inf; refuses NaN and positive log-probs', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    const text = 'The quick brown fox.';
    const prompt = [model.info.bosTokenId!, ...model.tokenize(text).ids];
    // -9999 as vLLM writes it for -inf.
    server.tamper = (path, answer) => {
      if (path !== '/v1/completions') return answer;
      const entries = (answer.choices as { prompt_logprobs: Record<string, { logprob: number }>[] }[])[0]!.prompt_logprobs;
      entries[2]![String(prompt[2])]!.logprob = -9999;
      return answer;
    };
    const clamped = await remote.score(job(text));
    assert.equal(clamped.scores.logprobs[1], -Infinity, 'prompt position 2 is document token 1');
    assert.ok(Number.isFinite(clamped.scores.logprobs[2]!));
    server.tamper = undefined;

    // Bare -Infinity and NaN as Python's json module writes them, and an impossible value.
    const request = { model: 'tiny-gpt2', prompt, echo: true, max_tokens: 0, prompt_logprobs: 5, logprobs: 5, return_tokens_as_token_ids: true };
    const answer = JSON.parse(await (await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(request) })).text()) as {
      choices: { prompt_logprobs: Record<string, { logprob: number }>[] }[];
    };
    answer.choices[0]!.prompt_logprobs[2]![String(prompt[2])]!.logprob = 12345.678;
    for (const [literal, expectError] of [['-Infinity', false], ['NaN', true], ['0.5', true]] as const) {
      const body = JSON.stringify(answer).replace('12345.678', literal);
      server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'raw', body } : undefined);
      const run = backend({ url: server.url, api: 'openai-completions' }).score(job(text, { topK: 5, windowSize: 0, stride: 0 }));
      if (expectError) await rejectsWith(run, 'bad-response', /log-probability/);
      else assert.equal((await run).scores.logprobs[1], -Infinity);
    }
    server.fault = undefined;
  });

  it('refuses tokens that do not spell the document, and answers of the wrong length', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    server.tamper = (path, answer) => {
      if (path === '/tokenize' && (answer.count as number) > 3) (answer.token_strs as string[])[3] = 'Ġzzz';
      return answer;
    };
    await rejectsWith(remote.score(job('The quick brown fox jumps.')), 'alignment', /do not spell the document \(from line 1, column/);
    server.tamper = (path, answer) => {
      if (path === '/v1/completions') ((answer.choices as Record<string, unknown[]>[])[0]!.prompt_logprobs!).pop();
      return answer;
    };
    await rejectsWith(remote.score(job('The quick brown fox jumps.')), 'bad-response', /entries in prompt_logprobs/);
    server.tamper = undefined;
  });

  it('lists the next tokens as local predictNext does', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    const context = 'The quick brown fox jumps over the';
    const next = await remote.nextWords(context, { maxWords: 5 });
    const local = await model.predictNext(context, 5);
    assert.equal(next.mode, 'tokens');
    assert.ok(Number.isNaN(next.entropyBits));
    assert.deepEqual(next.words.map((w) => w.tokens[0]), local.candidates.map((c) => c.id));
    next.words.forEach((w, i) => assert.ok(Math.abs(w.prob - local.candidates[i]!.prob) < 1e-4));
    assert.deepEqual(next.words.map((w) => w.text), local.candidates.map((c) => model.tokenizer.decode([c.id])));
  });
});

describe('SGLang and TGI (text windows)', () => {
  for (const kind of ['sglang', 'tgi'] as const) {
    it(`${kind}: a text within one window scores like local scoring`, async () => {
      const server = await engine(kind);
      const remote = backend({ url: server.url, api: kind });
      const text = 'Café 😀 日本 the end.\r\n';
      const result = await remote.score(job(text, { topK: 5, windowSize: 0, stride: 0 }));
      const local = await model.score(text, { topK: 5 });
      assert.ok(local.tokenCount < 60);
      assertSameTokens(result.scores, local);
      assertCloseLogprobs(result.scores, local);
      if (kind === 'sglang') {
        assert.deepEqual(Array.from(result.scores.topIds), Array.from(local.topIds));
        for (let i = 0; i < local.tokenCount; i++) {
          assert.equal(result.scores.ranks[i], local.ranks[i]! <= 5 ? local.ranks[i] : 0, `rank of token ${i} known only within the top-k`);
        }
        assert.deepEqual(result.scores.gaps, { noAlternatives: false, ranks: 'top-k', noEntropy: true });
        const generate = server.calls.find((c) => c.path === '/generate')!.body!;
        assert.equal(generate.logprob_start_len, 0);
        assert.equal(generate.return_logprob, true);
        assert.equal(generate.top_logprobs_num, 5);
      } else {
        assert.equal(result.scores.topK, 0, 'TGI reports no alternatives for prompt tokens');
        assert.ok(result.scores.ranks.every((r) => r === 0));
        assert.deepEqual(result.scores.gaps, { noAlternatives: true, ranks: 'none', noEntropy: true });
        const generate = server.calls.find((c) => c.path === '/generate')!.body! as { parameters: Record<string, unknown> };
        assert.equal(generate.parameters.decoder_input_details, true);
      }
    });

    it(`${kind}: a long document in windows of the server's context, tiled exactly, first token per window never kept`, async () => {
      const server = await engine(kind);
      const remote = backend({ url: server.url, api: kind });
      const text = `${TRICKY} ${'Some more ordinary words follow here, and then some more. '.repeat(6)}`;
      const result = await remote.score(job(text, { topK: 5, windowSize: 0, stride: 0 }));
      const local = model.tokenize(text);
      assert.ok(local.ids.length > 200, 'several windows');
      assert.deepEqual(Array.from(result.scores.ids), Array.from(local.ids), 'the same tokens as one tokenization of the whole text');
      assert.deepEqual(Array.from(result.scores.starts), Array.from(local.starts));
      assert.deepEqual(Array.from(result.scores.ends), Array.from(local.ends));
      assert.ok(Number.isNaN(result.scores.logprobs[0]!) === false, 'the BOS scores the first token');
      for (let i = 0; i < result.scores.tokenCount; i++) assert.ok(result.scores.logprobs[i]! <= 0, `token ${i} scored`);
      const windows = server.calls.filter((c) => c.path === '/generate');
      assert.ok(windows.length >= 4, `${windows.length} windows`);
    });

    it(`${kind}: after an edit, only the windows from the change on are sent again`, async () => {
      const server = await engine(kind);
      const remote = backend({ url: server.url, api: kind });
      const text = `${'Ordinary words in a long document, one after another. '.repeat(8)}The end.`;
      const edited = `${text.slice(0, -4)} of the story.`;
      const first = await remote.score(job(text, { topK: 5, windowSize: 0, stride: 0 }));
      const firstCalls = server.calls.filter((c) => c.path === '/generate').length;
      const second = await remote.score({ ...job(edited, { topK: 5, windowSize: 0, stride: 0 }), version: 2 });
      const secondCalls = server.calls.filter((c) => c.path === '/generate').length - firstCalls;
      const fresh = await backend({ url: server.url, api: kind }).score(job(edited, { topK: 5, windowSize: 0, stride: 0 }));
      assert.ok(first.scores.tokenCount > 150);
      assert.ok(second.reusedTokens > 50, `reused ${second.reusedTokens}`);
      assert.ok(secondCalls < firstCalls, `${secondCalls} windows again, ${firstCalls} at first`);
      assert.deepEqual(Array.from(second.scores.ids), Array.from(fresh.scores.ids));
      assert.deepEqual(Array.from(second.scores.starts), Array.from(fresh.scores.starts));
      assert.deepEqual(Array.from(second.scores.logprobs), Array.from(fresh.scores.logprobs), 'the same numbers as scoring the edited text afresh');
      assert.deepEqual(Array.from(second.scores.topIds), Array.from(fresh.scores.topIds));
    });

    it(`${kind}: next tokens`, async () => {
      const server = await engine(kind);
      const remote = backend({ url: server.url, api: kind });
      const context = 'The quick brown fox jumps over the';
      const next = await remote.nextWords(context, { maxWords: 8 });
      const local = await model.predictNext(context, 8);
      const expected = kind === 'tgi' ? 5 : 8; // TGI's --max-top-n-tokens defaults to 5
      assert.deepEqual(next.words.map((w) => w.tokens[0]), local.candidates.slice(0, expected).map((c) => c.id));
      next.words.forEach((w, i) => assert.ok(Math.abs(w.prob - local.candidates[i]!.prob) < 1e-4));
    });
  }

  for (const kind of ['vllm', 'sglang', 'tgi'] as const) {
    it(`${kind} with a SentencePiece tokenizer (▁ pieces, byte fallback, decoders that drop a leading space): the ranges of local tokenization`, async () => {
      const files = sentencePieceTokenizer('normalizer');
      const tokenizer = new TextTokenizer(files.json, files.config);
      const server = await startFakeEngine({ kind, model, tokenizer: { tokenizer, bos: 1 } });
      engines.push(server);
      const remote = backend({ url: server.url, api: kind === 'vllm' ? 'openai-completions' : kind });
      const text = `  the cat and the dog in the sea. Ünï 日本 😀\r\n${'the end and the start, '.repeat(30)}the end.`;
      const result = await remote.score(job(text, { topK: 3, windowSize: 0, stride: 0 }));
      const local = tokenizer.encode(text);
      assert.ok(local.ids.length > 150, 'several windows');
      assert.deepEqual(Array.from(result.scores.starts), Array.from(local.starts), 'starts');
      assert.deepEqual(Array.from(result.scores.ends), Array.from(local.ends), 'ends');
      assert.deepEqual(Array.from(result.scores.ids), Array.from(local.ids), 'ids');
      assert.ok(result.scores.logprobs.every((lp) => lp <= 0), 'every token scored (the BOS scores the first)');
    });
  }

  it('auto finds each engine', async () => {
    for (const [kind, api, engineName] of [['vllm', 'openai-completions', 'vLLM'], ['sglang', 'sglang', 'SGLang'], ['tgi', 'tgi', 'TGI']] as const) {
      const server = await engine(kind);
      const loaded = await backend({ url: `${server.url}/v1`, api: 'auto' }).load();
      assert.equal(loaded.info.remote?.api, api);
      assert.equal(loaded.info.modelType, engineName);
      assert.equal(loaded.info.name, 'tiny-gpt2');
    }
  });
});

describe('a hostile or failing server', () => {
  it('retries 429 and 503 with Retry-After, then succeeds; gives up with one message when it stays busy', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions', retries: 3 });
    let busy = 2;
    server.fault = (call) => (call.path === '/v1/completions' && busy-- > 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: '{"error":"slow down"}' } : undefined);
    const result = await remote.score(job('The fox.'));
    assert.ok(result.scores.tokenCount > 0);
    assert.equal(server.calls.filter((c) => c.path === '/v1/completions').length, 3);
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'status', status: 503, body: 'loading' } : undefined);
    await rejectsWith(remote.score(job('The fox again.')), 'http', /HTTP 503 after 4 tries: loading/);
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'status', status: 500, body: '{"message":"boom"}' } : undefined);
    const before = server.calls.length;
    await rejectsWith(remote.score(job('The fox, third.')), 'http', /HTTP 500: boom/);
    assert.equal(server.calls.filter((c, i) => i >= before && c.path === '/v1/completions').length, 1, '500 is not retried');
  });

  it('malformed JSON, a dropped connection, a huge body, a slow answer: one clear error each', async () => {
    const server = await engine('vllm');
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'raw', body: '{"choices": [' } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions' }).score(job('The fox.')), 'bad-response', /malformed JSON/);
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'drop' } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions' }).score(job('The fox.')), 'unreachable');
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'raw', body: `{"pad": "${'x'.repeat(200_000)}"}` } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions', maxResponseBytes: 100_000 }).score(job('The fox.')), 'too-large');
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'hang' } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions', timeoutMs: 300 }).score(job('The fox.')), 'timeout', /did not answer/);
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'raw', body: '{"choices": [{"prompt_logprobs": "nope"}]}' } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions' }).score(job('The fox.')), 'unsupported');
    server.fault = undefined;
    const tgi = await engine('tgi');
    tgi.tamper = (_path, answer) => ({ ...answer, details: { ...(answer.details as object), prefill: [] } });
    await rejectsWith(backend({ url: tgi.url, api: 'tgi' }).score(job('The fox.')), 'unsupported', /decoder_input_details/);
    const sglang = await engine('sglang');
    sglang.tamper = (path, answer) => (path === '/generate' ? { ...answer, meta_info: { ...(answer.meta_info as object), input_token_logprobs: [], input_top_logprobs: [] } } : answer);
    await rejectsWith(backend({ url: sglang.url, api: 'sglang' }).score(job('The fox.')), 'unsupported', /logprob_start_len/);
    sglang.tamper = (path, answer) => {
      if (path !== '/generate') return answer;
      const meta = answer.meta_info as { input_top_logprobs: unknown[] };
      meta.input_top_logprobs.pop();
      return answer;
    };
    await rejectsWith(backend({ url: sglang.url, api: 'sglang' }).score(job('The fox.')), 'bad-response', /entries in meta_info\.input_top_logprobs where \d+ were expected/);
  });

  it('a redirect is refused and not followed: documents go only to the configured URL', async () => {
    const server = await engine('vllm');
    const elsewhere = await engine('vllm');
    server.fault = (call) => (call.path === '/tokenize' ? { kind: 'status', status: 307, headers: { location: `${elsewhere.url}/tokenize` } } : undefined);
    await rejectsWith(backend({ url: server.url, api: 'openai-completions' }).score(job('Secret text.')), 'redirect', /redirected \/tokenize to 127\.0\.0\.1:\d+; documents are sent only to the configured URL/);
    assert.equal(elsewhere.calls.length, 0);
  });

  it('a server that is down fails the load; the same backend connects when it is back', async () => {
    const first = await engine('tgi');
    const port = Number(new URL(first.url).port);
    await first.close();
    const remote = backend({ url: first.url, api: 'tgi' });
    await rejectsWith(remote.load(), 'unreachable', /cannot be reached/);
    engines.push(await startFakeEngine({ kind: 'tgi', model, port }));
    assert.equal((await remote.load()).info.remote?.api, 'tgi');
    assert.ok((await remote.score(job('Back again.'))).scores.tokenCount > 0);
  });

  it('a server that disappears is reported once, and reported back when it answers again, without any call', async () => {
    const first = await engine('sglang');
    const port = Number(new URL(first.url).port);
    const events: [boolean, string][] = [];
    const remote = backend({ url: first.url, api: 'sglang', recheckMs: 10, onAvailability: (available, message) => events.push([available, message]) });
    await remote.score(job('Before.'));
    await first.close();
    await rejectsWith(remote.score(job('During.')), 'unreachable');
    await rejectsWith(remote.score(job('During, again.')), 'unreachable');
    assert.deepEqual(events.map(([available]) => available), [false], 'reported once');
    assert.match(events[0]![1], /127\.0\.0\.1:\d+ cannot be reached/);
    engines.push(await startFakeEngine({ kind: 'sglang', model, port }));
    // Waits for the re-check (every 10 ms here); a generous cap turns a missing report into a failure, not a hang.
    for (let waits = 0; events.length < 2 && waits < 4000; waits++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(events[1], [true, `127.0.0.1:${port} answers again`]);
    assert.ok((await remote.score(job('After.'))).scores.tokenCount > 0);
  });

  it('no document text leaves before allowSending says yes', async () => {
    const server = await engine('vllm');
    const asked: string[] = [];
    let answer = false;
    const remote = backend({ url: server.url, api: 'openai-completions', allowSending: async (host) => (asked.push(host), answer) });
    await remote.load();
    await rejectsWith(remote.score(job('Private text.')), 'refused', /^Documents are not sent to 127\.0\.0\.1:\d+: .*Forget Inference Server Answers/);
    await rejectsWith(remote.nextWords('Private text', {}), 'refused');
    assert.ok(server.calls.every((c) => !JSON.stringify(c.body ?? {}).includes('Private')), 'the text never reached the server');
    answer = true;
    assert.ok((await remote.score(job('Private text.'))).scores.tokenCount > 0);
    await remote.score(job('More text.'));
    assert.equal(asked.length, 3, 'asked until allowed, then not again');
  });

  it('cancellation rejects with CancelledError and aborts the request', async () => {
    const server = await engine('vllm');
    const remote = backend({ url: server.url, api: 'openai-completions' });
    await remote.load();
    server.fault = (call) => (call.path === '/v1/completions' ? { kind: 'hang' } : undefined);
    const token = cancellation();
    const pending = remote.score(job('The quick brown fox.'), token.signal);
    while (!server.calls.some((c) => c.path === '/v1/completions')) await new Promise((resolve) => setImmediate(resolve));
    token.cancel();
    await assert.rejects(pending, CancelledError);
    const done = cancellation();
    done.cancel();
    await assert.rejects(remote.nextWords('The', {}, done.signal), CancelledError);
    server.fault = undefined;
  });

  it('settings: https unless loopback, no credentials in the URL; the API key goes as Bearer and never into messages', async () => {
    await rejectsWith(backend({ url: 'http://gpu-01.example:8000' }).load(), 'config', /must use https:\/\/ for gpu-01\.example:8000/);
    await rejectsWith(backend({ url: 'https://user:pw@gpu-01.example' }).load(), 'config', /must not hold a user name or password/);
    await rejectsWith(backend({ url: 'not a url' }).load(), 'config');
    const server = await engine('sglang');
    const key = 'sk-secret-123456';
    server.fault = (call) => (call.path === '/generate' ? { kind: 'status', status: 401, body: `{"error": "bad key ${call.headers.authorization}"}` } : undefined);
    const error = await rejectsWith(backend({ url: server.url, api: 'sglang', apiKey: key }).score(job('The fox.')), 'http', /HTTP 401/);
    assert.ok(!error.message.includes(key) && !(error.detail ?? '').includes(key), 'the key is redacted');
    assert.equal(server.calls.at(-1)!.headers.authorization, `Bearer ${key}`);
    // Probing a server that wants a key: the refusal, not "no known engine".
    server.fault = () => ({ kind: 'status', status: 401, body: '{"error": "Unauthorized"}' });
    await rejectsWith(backend({ url: server.url, api: 'auto' }).load(), 'http', /answered \/get_model_info with HTTP 401: Unauthorized/);
    server.fault = undefined;
  });
});
