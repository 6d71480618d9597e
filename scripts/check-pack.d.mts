export declare const TOP_LEVEL: string[];
export declare function entryFiles(manifest: Record<string, unknown>): string[];
export declare function referencesOf(path: string, text: string): string[];
export declare function sourceMapProblems(path: string, text: string, shipped: Set<string>): string[];
export declare function packProblems(files: string[], read: (path: string) => string, manifest: Record<string, unknown>): string[];
