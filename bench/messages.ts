/**
 * What sending the whole document to the inference worker on every edit costs, against
 * sending only the edit: the round trip of a `postMessage` carrying the text (structured
 * clone of a string) to a worker thread that echoes a small reply, for document sizes up to
 * the default `maxDocumentLength` (300,000 characters). Medians of many round trips, the two
 * kinds interleaved so machine load affects both alike.
 *
 *   node --import tsx bench/messages.ts
 */
import { Worker } from 'node:worker_threads';

const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, length: m.text.length }));
`;

async function main(): Promise<void> {
  const worker = new Worker(ECHO, { eval: true });
  let nextId = 0;
  const roundTrip = (text: string) =>
    new Promise<number>((resolve) => {
      const id = nextId++;
      const started = performance.now();
      const onMessage = (reply: { id: number }) => {
        if (reply.id !== id) return;
        worker.off('message', onMessage);
        resolve(performance.now() - started);
      };
      worker.on('message', onMessage);
      worker.postMessage({ id, text });
    });
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const words = 'the model reads every token of this document while the editor stays responsive '.split(' ');
  console.log('| document (characters) | whole text, median ms | one edit (40 characters), median ms |');
  console.log('|--:|--:|--:|');
  for (const size of [10_000, 100_000, 300_000]) {
    let text = '';
    for (let i = 0; text.length < size; i++) text += `${words[i % words.length]} `;
    text = text.slice(0, size);
    const edit = text.slice(0, 40);
    const whole: number[] = [];
    const small: number[] = [];
    for (let i = 0; i < 200; i++) {
      // A fresh string each time, as each edit makes a new document text.
      whole.push(await roundTrip(`${text.slice(0, -1)}${i % 10}`));
      small.push(await roundTrip(`${edit.slice(0, -1)}${i % 10}`));
    }
    console.log(`| ${size.toLocaleString('en-US')} | ${median(whole).toFixed(3)} | ${median(small).toFixed(3)} |`);
  }
  await worker.terminate();
}

void main();
