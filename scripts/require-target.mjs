#!/usr/bin/env node
// First step of `vscode:prepublish`: refuses a plain `vsce package` / `vsce publish`.
// .vscodeignore names no native binary (each platform's VSIX adds its own ONNX Runtime), so
// vsce run directly would make a VSIX that cannot score. scripts/package.mjs sets
// SURPRISAL_LENS_VSIX_TARGET to the target it is packaging.
const target = process.env.SURPRISAL_LENS_VSIX_TARGET;
if (!target) {
  console.error(
    'Package with `npm run package` (this platform) or `npm run package:all`, not vsce directly:\n' +
      'each VSIX carries one platform\'s ONNX Runtime (scripts/package.mjs). To publish, pass the VSIXs it\n' +
      'writes: `vsce publish --packagePath surprisal-lens-<target>-<version>.vsix ...`.',
  );
  process.exit(1);
}
