import type { ChildProcess } from 'node:child_process';

export declare const FERRETDB_VERSION: string;
export declare function serverEnv(): NodeJS.ProcessEnv;
export declare function ferretdbArgs(port: number, dir: string): string[];
export declare function mongodArgs(port: number, dir: string): string[];
export declare function onPath(binary: string): boolean;
export declare function ferretdbBinary(options?: { stderr?: 'inherit' | 'pipe' }): string | undefined;
export declare function freePort(): Promise<number>;
export declare function portOpen(port: number): Promise<boolean>;
export declare function waitForPort(
  port: number,
  child: ChildProcess,
  name: string,
  options?: { timeoutMs?: number; intervalMs?: number },
): Promise<void>;
export declare function startChild(
  binary: string,
  args: string[],
  port: number,
  name: string,
  waitOptions?: { timeoutMs?: number; intervalMs?: number },
): Promise<ChildProcess>;
export declare function stopChild(
  child: ChildProcess,
  options?: { signal?: NodeJS.Signals; graceMs?: number; dir?: string },
): Promise<void>;
