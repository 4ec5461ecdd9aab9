import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listFiles, type IListFilesOptions } from '@vscode/vsce';
import { parseArgs, stage } from '../../scripts/package.mjs';
import {
  LINKED_LIBRARY,
  MAX_VSIX_BYTES,
  ORT_BIN_DIR,
  REQUIRED_FILES,
  RUNTIME_FILES,
  TARGETS,
  currentTarget,
  ignoreFileText,
  overLimit,
  parseTarget,
  runtimeFiles,
  vsixProblems,
} from '../../scripts/vsix-targets.mjs';

const ROOT = join(__dirname, '..', '..');
const BASE_IGNORE = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');

describe('platform VSIX targets', () => {
  it('are exactly the platforms onnxruntime-node ships binaries for', () => {
    const shipped: string[] = [];
    for (const os of readdirSync(join(ROOT, ORT_BIN_DIR))) {
      for (const arch of readdirSync(join(ROOT, ORT_BIN_DIR, os))) shipped.push(`${os}-${arch}`);
    }
    assert.deepEqual([...shipped].sort(), [...TARGETS].sort());
  });

  it("each target's runtime files exist, and its binding links the library the table lists", () => {
    for (const target of TARGETS) {
      const { os } = parseTarget(target);
      const files = runtimeFiles(target);
      for (const f of files) assert.ok(existsSync(join(ROOT, f)), `${target}: ${f} is missing`);
      const binding = readFileSync(join(ROOT, files.find((f) => f.endsWith('/onnxruntime_binding.node'))!));
      assert.ok(binding.includes(Buffer.from(LINKED_LIBRARY[os])), `${target}: the binding does not name ${LINKED_LIBRARY[os]}`);
      assert.ok(RUNTIME_FILES[os].includes(LINKED_LIBRARY[os].replace('@rpath/', '')), `${target}: ${LINKED_LIBRARY[os]} is not shipped`);
    }
  });

  it('map this machine and others to vsce targets, refusing platforms without binaries', () => {
    assert.equal(currentTarget('linux', 'x64', true), 'linux-x64');
    assert.equal(currentTarget('win32', 'arm64', false), 'win32-arm64');
    assert.equal(currentTarget('darwin', 'arm64', false), 'darwin-arm64');
    assert.throws(() => currentTarget('linux', 'x64', false), /musl Linux \(alpine-x64\)/);
    assert.throws(() => currentTarget('darwin', 'x64', false), /no VSIX for this platform \(darwin-x64\)/);
    assert.throws(() => currentTarget('linux', 'arm', true), /linux-arm/);
    assert.throws(() => parseTarget('alpine-x64'), /no VSIX for target "alpine-x64"/);
  });

  it('.vscodeignore names no native binary (each target adds its own)', () => {
    assert.doesNotMatch(BASE_IGNORE, /^!.*onnxruntime-node\/bin/m);
    assert.throws(() => ignoreFileText(`${BASE_IGNORE}\n!${ORT_BIN_DIR}/linux/x64/**\n`, 'win32-x64'), /whitelists native binaries for every target/);
    const text = ignoreFileText(BASE_IGNORE, 'darwin-arm64');
    assert.ok(text.startsWith(BASE_IGNORE.trimEnd()));
    assert.deepEqual(
      text.split('\n').filter((l) => l.includes('onnxruntime-node/bin')),
      [`!${ORT_BIN_DIR}/darwin/arm64/onnxruntime_binding.node`, `!${ORT_BIN_DIR}/darwin/arm64/libonnxruntime.1.dylib`],
    );
  });
});

describe("vsce's file list for each target (vsce listFiles on a staging copy, as scripts/package.mjs packages it)", () => {
  let staged: { dir: string; ext: string };
  before(() => {
    staged = stage(ROOT);
  });
  after(() => rmSync(staged.dir, { recursive: true, force: true }));

  for (const target of TARGETS) {
    it(`${target}: that target's runtime files and no other platform's`, async () => {
      const ignoreFile = join(staged.dir, `vscodeignore-${target}`);
      writeFileSync(ignoreFile, ignoreFileText(BASE_IGNORE, target));
      // followSymlinks is passed on to vsce's collectFiles (as `vsce package --follow-symlinks`), though its typings omit it.
      const options = { cwd: staged.ext, ignoreFile, followSymlinks: true } as IListFilesOptions;
      const files = await listFiles(options);
      assert.deepEqual(files.filter((f) => f.includes('onnxruntime-node/bin/')).sort(), [...runtimeFiles(target)].sort());
      for (const f of REQUIRED_FILES.filter((r) => !r.startsWith('dist/'))) assert.ok(files.includes(f), `${target}: ${f} is not packaged`);
      assert.deepEqual(files.filter((f) => /\.(map|d\.ts|ts)$/.test(f) || /^(src|test|scripts|bench)\//.test(f)), []);
      assert.deepEqual(files.filter((f) => f.startsWith('node_modules/') && !/^node_modules\/onnxruntime-(node|common)\//.test(f)), []);
    });
  }
});

describe('npm run package options', () => {
  it('default to this machine, --all to every target; refuse a target without binaries and --out for several', () => {
    assert.deepEqual(parseArgs([]).targets, [currentTarget()]);
    assert.deepEqual(parseArgs(['--all']).targets, TARGETS);
    assert.deepEqual(parseArgs(['--target', 'win32-x64', '-t=darwin-arm64', '--target=win32-x64']).targets, ['win32-x64', 'darwin-arm64']);
    assert.equal(parseArgs(['--warn-size']).warnSize, true);
    assert.throws(() => parseArgs(['--target', 'darwin-x64']), /no VSIX for target "darwin-x64"/);
    assert.throws(() => parseArgs(['--all', '--out', 'x.vsix']), /--out names one VSIX/);
    assert.throws(() => parseArgs(['--target']), /--target needs a value/);
    assert.throws(() => parseArgs(['--max-mb', '50']), /unknown option --max-mb/);
  });
});

describe('the check of a built VSIX', () => {
  const manifest = (target: string) => `<Identity Language="en-US" Id="surprisal-lens" Version="0.1.0" Publisher="surprisal-lens" TargetPlatform="${target}"/>`;
  const good = (target: string) => [
    'extension.vsixmanifest',
    '[Content_Types].xml',
    'extension/dist/extension.js',
    ...REQUIRED_FILES.map((f) => `extension/${f}`),
    ...runtimeFiles(target).map((f) => `extension/${f}`),
  ];

  it('passes a VSIX with its own runtime, entry points and model', () => {
    for (const target of TARGETS) assert.deepEqual(vsixProblems(target, good(target), manifest(target)), []);
  });

  it("finds another platform's binary, a missing library, a missing model and a wrong target platform", () => {
    const foreign = `extension/${ORT_BIN_DIR}/win32/x64/DirectML.dll`;
    assert.deepEqual(vsixProblems('linux-x64', [...good('linux-x64'), foreign], manifest('linux-x64')), [`unexpected native file ${foreign}`]);
    const lib = `extension/${ORT_BIN_DIR}/darwin/arm64/libonnxruntime.1.dylib`;
    assert.deepEqual(vsixProblems('darwin-arm64', good('darwin-arm64').filter((e) => e !== lib), manifest('darwin-arm64')), [`missing ${lib}`]);
    const model = 'extension/models/default/onnx/model.onnx';
    assert.deepEqual(vsixProblems('win32-x64', good('win32-x64').filter((e) => e !== model), manifest('win32-x64')), [`missing ${model}`]);
    assert.deepEqual(vsixProblems('win32-arm64', good('win32-arm64'), manifest('win32-x64')), ['extension.vsixmanifest does not give TargetPlatform="win32-arm64"']);
    assert.deepEqual(vsixProblems('linux-arm64', good('linux-arm64'), manifest('linux-arm64'), { main: './dist/main.js' }), ['missing extension/dist/main.js']);
  });

  it('allows 40 MB and no more', () => {
    assert.equal(MAX_VSIX_BYTES, 40_000_000);
    assert.equal(overLimit(MAX_VSIX_BYTES), null);
    assert.equal(overLimit(MAX_VSIX_BYTES + 1), '40.00 MB is over the 40.00 MB limit');
    assert.equal(overLimit(44_096_163), '44.10 MB is over the 40.00 MB limit');
  });
});

describe('third-party notices', () => {
  it('name each bundled package with its own licence text, and ONNX Runtime with its copyright', async () => {
    const { bundledPackages, thirdPartyNotices } = await import('../../scripts/thirdPartyNotices.mjs');
    const metafile = { inputs: { 'node_modules/protobufjs/src/util/minimal.js': {}, 'node_modules/@protobufjs/float/index.js': {}, 'src/core/engine.ts': {} } };
    const folders = bundledPackages([metafile]);
    assert.deepEqual(folders.sort(), ['node_modules/@protobufjs/float', 'node_modules/protobufjs']);
    const text = thirdPartyNotices(ROOT, folders);
    const protobufLicence = readFileSync(join(ROOT, 'node_modules', 'protobufjs', 'LICENSE'), 'utf8').trim();
    assert.ok(text.includes(`## protobufjs ${JSON.parse(readFileSync(join(ROOT, 'node_modules', 'protobufjs', 'package.json'), 'utf8')).version} (BSD-3-Clause)`));
    assert.ok(text.includes(protobufLicence), 'the package\'s own LICENSE');
    assert.match(text, /## onnxruntime-node [\d.]+ \(MIT\)\n\n```\nMIT License\n\nCopyright \(c\) Microsoft Corporation/);
    assert.match(text, /## onnxruntime-common /);
  });
});
