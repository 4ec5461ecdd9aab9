#!/usr/bin/env node
// Builds platform VSIXs with vsce, each carrying only its platform's ONNX Runtime files,
// and checks every one: its entries (unzipped listing) and its size (at most 40 MB).
//
//   npm run package                       this machine's target (e.g. linux-x64)
//   npm run package:all                   every target in scripts/vsix-targets.mjs
//   node scripts/package.mjs --target win32-x64 --target darwin-arm64 --out-dir vsix/
//   node scripts/package.mjs --out /tmp/x.vsix          one target, this file name
//
// vsce walks the whole extension folder before it applies the ignore file (here that is
// gigabytes of .vscode-test/, bench/ and models/recipe/, over a minute on two cores), and
// its vscode:prepublish script (the production build) would overwrite dist/. So each run
// packages a staging copy in the OS temp folder: the small top-level files and folders
// copied, node_modules/ and models/default/ linked. The working tree is left as it was.
// vsce is used through its API (createVSIX, the same code as `vsce package`); the VSIX is
// read back with yauzl, the zip reader vsce itself uses.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { TARGETS, currentTarget, formatMB, ignoreFileText, vsixProblems, overLimit, MAX_VSIX_BYTES } from './vsix-targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Top-level entries never copied into the staging folder (not packaged, and large or busy). */
const NOT_STAGED = new Set(['.git', '.vscode-test', 'test-results', 'out', 'dist', 'bench', 'test', 'models', 'node_modules', 'samples']);

function usage() {
  return [
    'usage: node scripts/package.mjs [--target <t>]... [--all] [--out <file.vsix>] [--out-dir <dir>] [--keep-stage] [--warn-size]',
    `targets: ${TARGETS.join(', ')} (default: this machine's, ${safeCurrentTarget()})`,
    `each VSIX must be at most ${formatMB(MAX_VSIX_BYTES)}; --warn-size reports a larger one without failing (for test runs that install it anyway)`,
  ].join('\n');
}

function safeCurrentTarget() {
  try {
    return currentTarget();
  } catch (err) {
    return `none: ${err.message}`;
  }
}

export function parseArgs(argv) {
  const opts = { targets: [], all: false, out: null, outDir: ROOT, keepStage: false, warnSize: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [key, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${key} needs a value\n${usage()}`);
      return v;
    };
    if (key === '--target' || key === '-t') opts.targets.push(value());
    else if (key === '--all') opts.all = true;
    else if (key === '--out' || key === '-o') opts.out = path.resolve(value());
    else if (key === '--out-dir') opts.outDir = path.resolve(value());
    else if (key === '--keep-stage') opts.keepStage = true;
    else if (key === '--warn-size') opts.warnSize = true;
    else if (key === '--help' || key === '-h') opts.help = true;
    else throw new Error(`unknown option ${arg}\n${usage()}`);
  }
  if (opts.help) return opts;
  if (opts.all) opts.targets = [...TARGETS];
  if (opts.targets.length === 0) opts.targets = [currentTarget()];
  for (const t of opts.targets) if (!TARGETS.includes(t)) throw new Error(`no VSIX for target "${t}" (targets: ${TARGETS.join(', ')})`);
  opts.targets = [...new Set(opts.targets)];
  if (opts.out && opts.targets.length > 1) throw new Error('--out names one VSIX; use --out-dir for several targets');
  return opts;
}

/** A staging copy of the extension: small entries copied, node_modules/ and models/default/ linked. */
export function stage(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'surprisal-package-'));
  const ext = path.join(dir, 'extension');
  fs.mkdirSync(ext);
  for (const entry of fs.readdirSync(root)) {
    if (NOT_STAGED.has(entry) || entry.endsWith('.vsix')) continue;
    fs.cpSync(path.join(root, entry), path.join(ext, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(ext, 'node_modules'), 'junction');
  fs.mkdirSync(path.join(ext, 'models'));
  fs.symlinkSync(path.join(root, 'models', 'default'), path.join(ext, 'models', 'default'), 'junction');
  return { dir, ext };
}

/** Entries of a zip file ({ name, compressed } each), read with yauzl (vsce's own zip reader), and one entry's text. */
async function readVsix(file, textEntry) {
  const requireFromVsce = createRequire(createRequire(import.meta.url).resolve('@vscode/vsce/package.json'));
  const yauzl = requireFromVsce('yauzl');
  const zip = await new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))));
  return await new Promise((resolve, reject) => {
    const entries = [];
    let text = null;
    zip.on('error', reject);
    zip.on('end', () => resolve({ entries, text }));
    zip.on('entry', (entry) => {
      entries.push({ name: entry.fileName, compressed: entry.compressedSize });
      if (entry.fileName !== textEntry) return zip.readEntry();
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks = [];
        stream.on('data', (c) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          text = Buffer.concat(chunks).toString('utf8');
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
}

/**
 * Packages one target from a staging folder. Returns { target, file, bytes, entries,
 * largest, problems, sizeProblem }: `problems` lists what is wrong with the contents (see
 * vsixProblems), `sizeProblem` is null when the VSIX is within the limit, and `largest`
 * names the entries that take the most room in the zip.
 */
export async function packageTarget({ root = ROOT, target, file, keepStage = false }) {
  const { createVSIX } = createRequire(import.meta.url)('@vscode/vsce');
  const { dir, ext } = stage(root);
  try {
    const ignoreFile = path.join(dir, `vscodeignore-${target}`);
    fs.writeFileSync(ignoreFile, ignoreFileText(fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8'), target));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // vscode:prepublish (scripts/require-target.mjs) refuses to run without it.
    process.env.SURPRISAL_LENS_VSIX_TARGET = target;
    await createVSIX({
      cwd: ext,
      packagePath: file,
      target,
      ignoreFile,
      followSymlinks: true,
      rewriteRelativeLinks: false,
    });
    const bytes = fs.statSync(file).size;
    const { entries, text: manifestXml } = await readVsix(file, 'extension.vsixmanifest');
    const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).main;
    const names = entries.map((e) => e.name);
    const largest = [...entries].sort((a, b) => b.compressed - a.compressed).slice(0, 3);
    return { target, file, bytes, entries: names, largest, problems: vsixProblems(target, names, manifestXml, { main }), sizeProblem: overLimit(bytes) };
  } finally {
    if (keepStage) console.log(`staging folder kept: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

function defaultFileName(root, target) {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return `${name}-${target}-${version}.vsix`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(usage());
    return 0;
  }
  const results = [];
  for (const target of opts.targets) {
    const file = opts.out ?? path.join(opts.outDir, defaultFileName(ROOT, target));
    console.log(`\n== ${target} → ${path.relative(process.cwd(), file) || file}`);
    const result = await packageTarget({ target, file, keepStage: opts.keepStage });
    const native = result.entries.filter((e) => e.includes('/onnxruntime-node/bin/'));
    console.log(`   ${result.entries.length} entries; ONNX Runtime: ${native.map((e) => e.split('/').slice(-3).join('/')).join(', ')}`);
    console.log(`   largest in the zip: ${result.largest.map((e) => `${e.name.split('/').pop()} ${formatMB(e.compressed)}`).join(', ')}`);
    for (const p of result.problems) console.error(`   problem: ${p}`);
    if (result.sizeProblem) console.error(`   ${opts.warnSize ? 'warning' : 'problem'}: ${result.sizeProblem}`);
    results.push(result);
  }
  console.log(`\n${'target'.padEnd(14)} ${'size'.padStart(10)} ${'bytes'.padStart(10)}  file`);
  for (const r of results) {
    const n = r.problems.length;
    const verdict = n ? `  FAILED (${n} problem${n > 1 ? 's' : ''}${r.sizeProblem ? ', too large' : ''})` : r.sizeProblem ? (opts.warnSize ? '  too large' : '  FAILED (too large)') : '';
    console.log(`${r.target.padEnd(14)} ${formatMB(r.bytes).padStart(10)} ${String(r.bytes).padStart(10)}  ${path.relative(process.cwd(), r.file) || r.file}${verdict}`);
  }
  console.log(`limit: ${formatMB(MAX_VSIX_BYTES)} each`);
  return results.some((r) => r.problems.length || (r.sizeProblem && !opts.warnSize)) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`package: ${err?.message ?? err}`);
      process.exit(1);
    },
  );
}
