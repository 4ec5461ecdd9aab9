// One build for the three bundles: extension host (node/cjs), inference worker (node/cjs),
// and the webview front end (browser). `vscode` and `onnxruntime-node` stay external: the
// first is provided by the editor, the second ships native binaries that cannot be bundled.
import * as esbuild from 'esbuild';
import { existsSync, writeFileSync } from 'node:fs';
import { bundledPackages, thirdPartyNotices } from './scripts/thirdPartyNotices.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const builds = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { worker: 'src/worker/worker.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
];
if (existsSync('src/webview/panel.ts')) {
  builds.push({
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022',
    sourcemap: production ? false : 'linked', minify: production, logLevel: 'warning',
    entryPoints: { webview: 'src/webview/panel.ts' }, outdir: 'dist',
  });
}

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  const results = await Promise.all(builds.map((options) => esbuild.build({ ...options, metafile: true })));
  // What the bundles hold of other people's code, with its licences (shipped in the VSIX).
  writeFileSync('dist/THIRD-PARTY-NOTICES.md', thirdPartyNotices('.', bundledPackages(results.map((r) => r.metafile))));
}
