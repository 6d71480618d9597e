// A database server of a test file's own, which the file may kill, freeze and restart: the
// same binary, port and data directory each time, so data written before a stop is there after.
// FerretDB (SQLite backend, built by scripts/build-ferretdb.sh) or, when the suite runs on
// `mongod` (MONGOSESS_TEST_SERVER=mongod), a mongod of its own.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferretdbArgs, ferretdbBinary, freePort, mongodArgs, onPath, startChild, stopChild } from '../../scripts/servers.mjs';

interface Binary {
  kind: 'ferretdb' | 'mongod';
  args(port: number, dir: string): string[];
  path: string;
}

/**
 * The binary this file can start and stop, or why there is none (then the caller skips, saying
 * why). Synchronous, so that a `describe` can be skipped with the reason.
 */
export function findServerBinary(): Binary | { missing: string } {
  if (process.env['MONGOSESS_TEST_SERVER'] === 'mongod' && onPath('mongod')) {
    return { kind: 'mongod', path: 'mongod', args: mongodArgs };
  }
  const path = ferretdbBinary({ stderr: 'pipe' });
  if (!path) {
    return { missing: 'needs a database server it can kill and restart: FerretDB (built with Go) or mongod on PATH' };
  }
  return { kind: 'ferretdb', path, args: ferretdbArgs };
}

/** One server process at a time, on a fixed port and data directory. */
export class OwnServer {
  readonly kind: Binary['kind'];
  readonly port: number;
  readonly uri: string;
  readonly #binary: Binary;
  readonly #dir: string;
  #child: ChildProcess | undefined;

  private constructor(binary: Binary, port: number, dir: string) {
    this.kind = binary.kind;
    this.#binary = binary;
    this.port = port;
    this.#dir = dir;
    this.uri = `mongodb://127.0.0.1:${port}/`;
  }

  /** A server on a free port with a fresh data directory, not started yet. */
  static async create(binary: Binary): Promise<OwnServer> {
    return new OwnServer(binary, await freePort(), mkdtempSync(join(tmpdir(), `mongosess-faults-${binary.kind}-`)));
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server (again) on the same port and directory; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#child) throw new Error('own server: already running');
    const { path, args } = this.#binary;
    this.#child = await startChild(path, args(this.port, this.#dir), this.port, `own server: ${this.kind}`, { intervalMs: 50 });
  }

  /** SIGKILL: the server dies at once, mid-request, without closing anything cleanly. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    await stopChild(child, { signal: 'SIGKILL' });
  }

  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung database). */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** SIGCONT: a frozen server goes on. */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills the server and removes its data. Safe to call in any state, more than once. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
