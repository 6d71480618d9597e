// The README's example is examples/http-server.js, word for word, and it works as written.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MONGODB_URI } from '../helpers/db.js';
import { Browser } from '../helpers/http.js';

const root = join(import.meta.dirname, '..', '..');
const example = readFileSync(join(root, 'examples/http-server.js'), 'utf8');
let child: ChildProcess;
let url = '';

describe('the README example', () => {
  before(async () => {
    child = spawn(process.execPath, ['examples/http-server.js'], {
      cwd: root,
      env: { ...process.env, MONGODB_URI, PORT: '0', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]!.replace(/\/$/, ''));
      });
      child.once('exit', (code) => reject(new Error(`the example exited with code ${code}: ${out}`)));
    });
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('is in the README word for word', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.ok(readme.includes(example.trim()), 'README.md must contain examples/http-server.js verbatim');
  });

  it('sets a name, reads it back, deletes it, ends the session', async () => {
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
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
