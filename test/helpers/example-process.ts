// Runs one of examples/ as a child process (with MONGODB_URI and a free port), as a user would,
// and drives it over HTTP.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MONGODB_URI } from './db.js';
import { Browser } from './http.js';

export const root = join(import.meta.dirname, '..', '..');

export interface RunningExample {
  child: ChildProcess;
  /** The URL the example printed, without a trailing slash. */
  url: string;
}

/**
 * Starts `examples/<file>` and resolves once it prints "listening on <url>". `nodeArgs` go before
 * the file (an `--import`); `uri` replaces MONGODB_URI.
 */
export async function startExample(
  file: string,
  { nodeArgs = [], uri = MONGODB_URI }: { nodeArgs?: string[]; uri?: string } = {},
): Promise<RunningExample> {
  const child = spawn(process.execPath, [...nodeArgs, join('examples', file)], {
    cwd: root,
    env: { ...process.env, MONGODB_URI: uri, PORT: '0', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!.replace(/\/$/, ''));
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with code ${code}: ${out}`)));
  });
  return { child, url };
}

/** Sends SIGTERM and resolves the exit code. */
export async function stopExample(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

/** The examples' shared story: set a name, read it back, delete it, end the session. */
export async function nameScenario(url: string): Promise<void> {
  const browser = new Browser();
  assert.match((await browser.get(`${url}/`)).body, /Who are you\?/);
  assert.match((await browser.get(`${url}/set?name=Ann`)).body, /Hello Ann/);
  assert.match((await browser.get(`${url}/`)).body, /Welcome back, Ann\./);
  assert.match((await browser.get(`${url}/del`)).body, /forgot your name/);
  assert.match((await browser.get(`${url}/`)).body, /Who are you\?/);
  await browser.get(`${url}/set?name=Bob`);
  const sid = await browser.cookie(url, 'sess');
  assert.match((await browser.get(`${url}/end`)).body, /Session ended/);
  assert.match((await browser.get(`${url}/`)).body, /Who are you\?/);
  assert.notEqual(await browser.cookie(url, 'sess'), sid, 'a fresh session after end');
}
