/**
 * The layering rules of ARCHITECTURE.md, checked by `npm run check:deps` (part of
 * `npm run test:unit`, so CI fails on a violation).
 */
/** The vscode module: resolved to its type declarations, or unresolved where they are absent. */
const VSCODE = '^vscode$|(^|/)node_modules/@types/vscode/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Import cycles hide which module owns what; put shared types in src/core/types.ts.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      comment: 'src/core runs in the worker, the CLI and tests without an editor: no vscode (not even its types), no editor, worker or webview code.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: [VSCODE, '^src/(extension|worker|webview|cli)/'] },
    },
    {
      name: 'shared-contracts-only',
      comment: 'src/shared holds the host-worker and host-webview contracts; it may use core types, nothing else.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: [VSCODE, '^src/(extension|worker|webview|cli)/'] },
    },
    {
      name: 'webview-is-browser-code',
      comment: 'The webview bundle runs in a browser: no vscode API, no Node built-ins, no host or worker code.',
      severity: 'error',
      from: { path: '^src/webview/' },
      to: { path: [VSCODE, '^src/(extension|worker|cli)/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'webview-no-node',
      severity: 'error',
      from: { path: '^src/webview/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'worker-no-editor',
      comment: 'The worker and its client know nothing of the editor.',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: [VSCODE, '^src/(extension|webview|cli)/'] },
    },
    {
      name: 'cli-no-editor',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: [VSCODE, '^src/(extension|webview)/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|out)/' },
  },
};
