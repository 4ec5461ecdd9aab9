// Types of scripts/vsix-targets.mjs, for the unit tests (test/unit/packaging.test.ts).
export type OrtOs = 'linux' | 'darwin' | 'win32';
export declare const ORT_BIN_DIR: string;
export declare const RUNTIME_FILES: Record<OrtOs, string[]>;
export declare const LINKED_LIBRARY: Record<OrtOs, string>;
export declare const TARGETS: string[];
export declare const MAX_VSIX_BYTES: number;
export declare const REQUIRED_FILES: string[];
export declare function parseTarget(target: string): { os: OrtOs; arch: string };
export declare function currentTarget(platform?: string, arch?: string, glibc?: boolean): string;
export declare function runtimeFiles(target: string): string[];
export declare function ignoreFileText(baseIgnore: string, target: string): string;
export declare function vsixProblems(
  target: string,
  entries: string[],
  manifestXml: string | null,
  options?: { main?: string; required?: string[] },
): string[];
export declare function overLimit(bytes: number): string | null;
export declare function formatMB(bytes: number): string;
