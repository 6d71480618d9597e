// A database server of a test file's own, which the file may kill, freeze and restart: the
// same binary, port and data directory each time, so data written before a stop is there after.
// FerretDB v1.24.2 (SQLite backend, built by scripts/build-ferretdb.sh) or, when the suite runs
// on `mongod` (MONGOSESS_TEST_SERVER=mongod), a mongod of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  if (process.env['MONGOSESS_TEST_SERVER'] === 'mongod' && spawnSync('sh', ['-c', 'command -v mongod']).status === 0) {
    return {
      kind: 'mongod',
      path: 'mongod',
      args: (port, dir) => ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'],
    };
  }
  const built = spawnSync('bash', [join(root, 'scripts', 'build-ferretdb.sh')], { encoding: 'utf8' });
  const path = built.stdout?.trim().split('\n').pop();
  if (built.status !== 0 || !path) {
    return { missing: 'needs a database server it can kill and restart: FerretDB (built with Go) or mongod on PATH' };
  }
  return {
    kind: 'ferretdb',
    path,
    args: (port, dir) => [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--state-dir=-',
      '--debug-addr=-',
      '--log-level=error',
    ],
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
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
    const child = spawn(this.#binary.path, this.#binary.args(this.port, this.#dir), {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DO_NOT_TRACK: '1' },
    });
    this.#child = child;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.#child = undefined;
        throw new Error(`own server: ${this.kind} exited at start (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      if (await portOpen(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.kill();
    throw new Error(`own server: ${this.kind} did not listen on port ${this.port} within 60 s`);
  }

  /** SIGKILL: the server dies at once, mid-request, without closing anything cleanly. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    child.kill('SIGKILL');
    await exited(child);
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
