// Types of scripts/package.mjs, for the unit tests (test/unit/packaging.test.ts).
export declare function stage(root: string): { dir: string; ext: string };
export declare function parseArgs(argv: string[]): {
  targets: string[];
  all: boolean;
  out: string | null;
  outDir: string;
  keepStage: boolean;
  warnSize: boolean;
  help?: boolean;
};
export declare function packageTarget(options: { root?: string; target: string; file: string; keepStage?: boolean }): Promise<{
  target: string;
  file: string;
  bytes: number;
  entries: string[];
  largest: { name: string; compressed: number }[];
  problems: string[];
  sizeProblem: string | null;
}>;
