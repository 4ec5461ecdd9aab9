/**
 * One of the stand-in inference servers of fakeEngines.ts as its own process, for the
 * real-editor suite (which runs in plain Node and cannot import TypeScript):
 *
 *   node --import tsx test/helpers/fakeEngineServer.ts --kind vllm --model models/default
 *
 * Prints one JSON line `{"url": ...}` once it listens, then one `{"call": {method, path, body}}`
 * line per request it receives; exits on SIGTERM or when its stdin closes (the parent died).
 */
import { parseArgs } from 'node:util';
import { LanguageModel } from '../../src/core/engine';
import { startFakeEngine, type EngineKind } from './fakeEngines';

const KINDS: readonly EngineKind[] = ['vllm', 'sglang', 'tgi'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { kind: { type: 'string', default: 'vllm' }, model: { type: 'string' }, name: { type: 'string' } },
  });
  const kind = values.kind as EngineKind;
  if (!KINDS.includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}`);
  if (!values.model) throw new Error('--model FOLDER is required');
  const model = await LanguageModel.load(values.model, { threads: 1 });
  const engine = await startFakeEngine({
    kind,
    model,
    modelName: values.name,
    onCall: (call) => process.stdout.write(JSON.stringify({ call: { method: call.method, path: call.path, body: call.body } }) + '\n'),
  });
  const stop = async () => {
    await engine.close();
    await model.dispose();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.stdout.write(JSON.stringify({ url: engine.url }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`fakeEngineServer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
