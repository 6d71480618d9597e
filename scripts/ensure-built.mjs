#!/usr/bin/env node
// Runs `npm run build` only when dist/ is missing or older than what it is built from, so that
// `npm start` and `npm run check:package` do not spend seconds rebuilding declarations.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outputs = ['index.cjs', 'index.cjs.map', 'index.js', 'index.d.ts', 'index.d.cts'].map((file) => join(root, 'dist', file));
const inputs = [
  ...readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name)),
  join(root, 'tsup.config.ts'),
  join(root, 'scripts', 'build-entries.mjs'),
  join(root, 'package.json'),
  join(root, 'package-lock.json'),
];

const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;
const oldestOutput = Math.min(...outputs.map((file) => mtime(file) ?? -Infinity));
const newestInput = Math.max(...inputs.map((file) => mtime(file) ?? Infinity));

if (newestInput >= oldestOutput) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const { status } = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(status ?? 1);
}
