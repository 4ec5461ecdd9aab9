// Which platform VSIXs exist, and which ONNX Runtime files each one carries.
//
// onnxruntime-node 1.30.0 ships its native runtime for five platforms under
// bin/napi-v6/<os>/<arch>/ and loads `onnxruntime_binding.node` from the folder of the
// running platform (dist/binding.js). A VSIX for one platform carries that folder's binding
// and the shared library the binding links against, and nothing of the other platforms:
//
//   linux   onnxruntime_binding.node  NEEDED libonnxruntime.so.1 (RUNPATH $ORIGIN/)
//   darwin  onnxruntime_binding.node  LC_LOAD_DYLIB @rpath/libonnxruntime.1.dylib
//           (the package also has libonnxruntime.1.30.0.dylib, a byte-identical copy
//           that nothing loads: npm turns the tarball's symlink into a second file)
//   win32   onnxruntime_binding.node  imports onnxruntime.dll, which imports only system
//           DLLs; DirectML.dll is delay-loaded by the DirectML execution provider and
//           dxcompiler.dll / dxil.dll are opened by the WebGPU one. The extension only
//           creates CPU sessions (executionProviders: ['cpu']), so none of the three ships.
//
// (Read with `llvm-readelf -d`, `llvm-objdump --macho --dylibs-used` and `llvm-objdump -p`.)
// test/unit/packaging.test.ts checks that this table matches node_modules, that every
// binding names the library listed here, and that vsce's file list for each target holds
// exactly these files; scripts/package.mjs checks every VSIX it writes the same way.

/** Where onnxruntime-node keeps its native binaries, relative to the extension root. */
export const ORT_BIN_DIR = 'node_modules/onnxruntime-node/bin/napi-v6';

/** The native files the CPU runtime loads, per operating system (file names in the <os>/<arch>/ folder). */
export const RUNTIME_FILES = {
  linux: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
  darwin: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'],
  win32: ['onnxruntime_binding.node', 'onnxruntime.dll'],
};

/**
 * The library name each binding links against (as written in the binding's dynamic
 * section, load commands or import table).
 */
export const LINKED_LIBRARY = {
  linux: 'libonnxruntime.so.1',
  darwin: '@rpath/libonnxruntime.1.dylib',
  win32: 'onnxruntime.dll',
};

/**
 * vsce target names of the platform VSIXs, one per folder onnxruntime-node 1.30.0 ships.
 * Not built: darwin-x64 (no Intel-Mac binaries in this release), linux-armhf (none),
 * alpine-* (the Linux binaries need glibc), web (native code).
 */
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** The largest VSIX we publish, in bytes (issue 16: "each at most 40 MB"). */
export const MAX_VSIX_BYTES = 40 * 1000 * 1000;

/** `{ os, arch }` of a vsce target name; throws for a target without a VSIX. */
export function parseTarget(target) {
  if (!TARGETS.includes(target)) {
    throw new Error(`no VSIX for target "${target}" (targets: ${TARGETS.join(', ')})`);
  }
  const [os, arch] = target.split('-');
  return { os, arch };
}

/**
 * The vsce target of this machine (or of the given platform and architecture); throws
 * where there is none. `glibc` is false on musl Linux (Alpine), whose vsce targets are
 * alpine-*, for which onnxruntime-node has no binaries.
 */
export function currentTarget(platform = process.platform, arch = process.arch, glibc = hasGlibc()) {
  if (platform === 'linux' && !glibc) {
    throw new Error(`no VSIX for musl Linux (alpine-${arch}): onnxruntime-node's Linux binaries need glibc`);
  }
  const target = `${platform}-${arch}`;
  if (!TARGETS.includes(target)) {
    throw new Error(`no VSIX for this platform (${target}); targets: ${TARGETS.join(', ')}`);
  }
  return target;
}

function hasGlibc() {
  if (process.platform !== 'linux') return false;
  const header = /** @type {any} */ (process.report?.getReport())?.header;
  return Boolean(header?.glibcVersionRuntime);
}

/** Paths (relative to the extension root, `/`-separated) of the runtime files a target's VSIX carries. */
export function runtimeFiles(target) {
  const { os, arch } = parseTarget(target);
  return RUNTIME_FILES[os].map((name) => `${ORT_BIN_DIR}/${os}/${arch}/${name}`);
}

/**
 * The ignore file for one target: the shared rules of .vscodeignore (which whitelist no
 * native binary) followed by the target's runtime files. Throws if the shared rules
 * already name something under bin/, which would ship it to every platform.
 */
export function ignoreFileText(baseIgnore, target) {
  const files = runtimeFiles(target);
  const binary = baseIgnore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line.startsWith('!') && line.includes('onnxruntime-node/bin'));
  if (binary) {
    throw new Error(`.vscodeignore whitelists native binaries for every target ("${binary}"); scripts/vsix-targets.mjs adds each target's own`);
  }
  return `${baseIgnore.replace(/\s*$/, '\n')}\n# ONNX Runtime for ${target} (added by scripts/package.mjs)\n${files.map((f) => `!${f}`).join('\n')}\n`;
}

/**
 * What is wrong with the contents of a VSIX for `target`, given its entry names (as in
 * the zip: `extension.vsixmanifest`, `extension/...`) and the manifest's text; [] when
 * nothing is. Checks the runtime files (exactly the target's, no other platform's), the
 * entry points, the bundled model and the manifest's target platform. The size is checked
 * apart (overLimit), so a test run can install an oversized VSIX and still say so.
 */
export function vsixProblems(target, entries, manifestXml, { main = 'dist/extension.js', required = REQUIRED_FILES } = {}) {
  const problems = [];
  const names = new Set(entries);
  const expected = runtimeFiles(target).map((f) => `extension/${f}`);
  for (const f of expected) if (!names.has(f)) problems.push(`missing ${f}`);
  for (const e of entries) {
    if (e.startsWith('extension/node_modules/onnxruntime-node/bin/') && !expected.includes(e)) problems.push(`unexpected native file ${e}`);
  }
  for (const f of new Set([main.replace(/^\.\//, ''), ...required])) {
    if (!names.has(`extension/${f}`)) problems.push(`missing extension/${f}`);
  }
  if (!names.has('extension.vsixmanifest')) problems.push('missing extension.vsixmanifest');
  else if (!new RegExp(`<Identity [^>]*TargetPlatform="${target}"`).test(manifestXml ?? '')) {
    problems.push(`extension.vsixmanifest does not give TargetPlatform="${target}"`);
  }
  return problems;
}

/** The size problem of a VSIX of `bytes` bytes, or null when it is within MAX_VSIX_BYTES. */
export function overLimit(bytes) {
  return bytes > MAX_VSIX_BYTES ? `${formatMB(bytes)} is over the ${formatMB(MAX_VSIX_BYTES)} limit` : null;
}

/** Files every VSIX needs besides package.json's `main`: worker, webview, ONNX Runtime's JS, the bundled model. */
export const REQUIRED_FILES = [
  'package.json',
  'dist/worker.js',
  'dist/webview.js',
  'dist/THIRD-PARTY-NOTICES.md',
  'node_modules/onnxruntime-node/package.json',
  'node_modules/onnxruntime-node/dist/index.js',
  'node_modules/onnxruntime-node/dist/binding.js',
  'node_modules/onnxruntime-common/package.json',
  'node_modules/onnxruntime-common/dist/cjs/package.json',
  'node_modules/onnxruntime-common/dist/cjs/index.js',
  'models/default/config.json',
  'models/default/tokenizer.json',
  'models/default/onnx/model.onnx',
];

/** "12.34 MB" (decimal megabytes, as the 40 MB limit is stated). */
export function formatMB(bytes) {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}
