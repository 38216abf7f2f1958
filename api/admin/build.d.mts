// Types of build.mjs for the TypeScript that imports it (the end-to-end test).
export declare const BUDGET_BYTES: number;

export interface BundleSize {
  files: { file: string; bytes: number; gzipBytes: number }[];
  jsBytes: number;
  jsGzipBytes: number;
  budgetBytes: number;
}

export declare function kb(bytes: number): string;
export declare function sizeLine(size: BundleSize): string;
export declare function ensureAdminUi(opts?: { force?: boolean; quiet?: boolean; log?: (msg: string) => void }): { built: boolean; size: BundleSize };
