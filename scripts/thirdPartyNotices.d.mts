// Types of scripts/thirdPartyNotices.mjs, for the unit tests (test/unit/packaging.test.ts).
export declare function bundledPackages(metafiles: readonly { inputs: Record<string, unknown> }[]): string[];
export declare function thirdPartyNotices(root: string, bundledFolders: readonly string[]): string;
