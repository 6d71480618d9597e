#!/usr/bin/env node
// What `npm publish` would upload, checked: `npm pack --dry-run` (the packing code `npm publish`
// uses) lists the files, and every one must be meant to be there.
//   - Only the package's own files: package.json, the top-level documents, docs/*.md|svg, and the
//     build in dist/. No tests, sources, configuration, scripts, tarballs or generated API pages.
//   - dist/ holds exactly what the entry points use: every file is reached from package.json
//     (exports, main, module, types, typesVersions) through imports, requires, type references and
//     sourceMappingURL comments, and every file they name is there. The build does not empty
//     dist/ first, so a chunk or entry left from an older build would otherwise ship unnoticed.
//   - Source maps point inside the package (no absolute paths, no `..` above its root) and carry
//     the text of every source the package does not ship (src/ is not published).
//   - No secrets: no private keys, npm or GitHub tokens, cloud keys, or connection strings with
//     a password, in any file.
// Usage: node scripts/check-pack.mjs   (part of `npm run check:package`, so of `npm test`)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Top-level files the package ships, besides dist/ and docs/. */
export const TOP_LEVEL = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'MIGRATING.md', 'SECURITY.md'];
const DOCS = /^docs\/[\w.-]+\.(md|svg)$/;
const DIST = /^dist\/[\w.-]+\.(js|cjs|d\.ts|d\.cts|js\.map|cjs\.map)$/;

const SECRETS = [
  ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['an npm token', /\bnpm_[A-Za-z0-9]{36}\b/],
  ['a GitHub token', /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
  ['an AWS access key', /\bAKIA[0-9A-Z]{16}\b/],
  ['a connection string with a password', /mongodb(\+srv)?:\/\/[^\s'"`/@:]+:[^\s'"`/@]+@/],
];

/** Every path string in package.json's entry fields (exports, main, module, types, typesVersions, bin). */
export function entryFiles(manifest) {
  const found = new Set();
  const walk = (value) => {
    if (typeof value === 'string') found.add(posix.normalize(value));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  for (const field of ['exports', 'main', 'module', 'types', 'typings', 'typesVersions', 'bin']) walk(manifest[field]);
  return [...found].filter((path) => path !== 'package.json');
}

/** The package files a shipped JavaScript or declaration file names: relative imports, requires, references, its source map. */
export function referencesOf(path, text) {
  const specifiers = [];
  const patterns = [
    /\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /\bimport\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /\b(?:require|import)\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    /\/\/\/\s*<reference\s+path=['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) specifiers.push(match[1]);
  const isDeclaration = /\.d\.c?ts$/.test(path);
  const targets = specifiers.map((specifier) => {
    const target = posix.join(posix.dirname(path), specifier);
    // A declaration file's `./x.js` is ./x.d.ts (and `.cjs` is `.d.cts`), as TypeScript resolves it.
    if (!isDeclaration) return target;
    if (/\.d\.c?ts$/.test(target)) return target;
    if (target.endsWith('.cjs')) return target.replace(/\.cjs$/, '.d.cts');
    return `${target.replace(/\.js$/, '')}.d.ts`;
  });
  const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text);
  if (map && !map[1].startsWith('data:')) targets.push(posix.join(posix.dirname(path), map[1]));
  return targets;
}

/** Problems of one source map: sources outside the package, and sources it neither ships nor embeds. */
export function sourceMapProblems(path, text, shipped) {
  let map;
  try {
    map = JSON.parse(text);
  } catch {
    return [`${path} is not valid JSON`];
  }
  const problems = [];
  const sources = Array.isArray(map.sources) ? map.sources : [];
  sources.forEach((source, i) => {
    if (typeof source !== 'string' || /^([a-z][a-z0-9+.-]*:|\/|\\)/i.test(source)) {
      problems.push(`${path}: source ${JSON.stringify(source)} is an absolute path or URL (it names a path on the machine that built it)`);
      return;
    }
    const resolved = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? '', source));
    if (resolved.startsWith('../')) problems.push(`${path}: source ${source} points outside the package (${resolved})`);
    else if (!shipped.has(resolved) && typeof map.sourcesContent?.[i] !== 'string')
      problems.push(`${path}: source ${source} is not in the package and the map does not embed its text (sourcesContent)`);
  });
  return problems;
}

/**
 * Every problem of a package of `files` (paths as `npm pack` lists them), whose text `read(path)`
 * gives and whose manifest is `manifest`; an empty list for a good package.
 */
export function packProblems(files, read, manifest) {
  const problems = [];
  const shipped = new Set(files);
  for (const file of files) {
    if (!TOP_LEVEL.includes(file) && !DOCS.test(file) && !DIST.test(file)) problems.push(`${file} is not meant to be published`);
  }
  for (const file of TOP_LEVEL) if (!shipped.has(file)) problems.push(`${file} is missing from the package`);

  const reached = new Set();
  const queue = [];
  for (const entry of entryFiles(manifest)) {
    if (shipped.has(entry)) queue.push(entry);
    else problems.push(`package.json names ${entry}, which is not in the package`);
  }
  while (queue.length > 0) {
    const file = queue.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    if (file.endsWith('.map')) continue;
    for (const target of referencesOf(file, read(file))) {
      if (shipped.has(target)) queue.push(target);
      else problems.push(`${file} refers to ${target}, which is not in the package`);
    }
  }
  for (const file of files) {
    if (DIST.test(file) && !reached.has(file))
      problems.push(`${file} is used by no entry point (left from an older build? rm -rf dist && npm run build)`);
  }

  for (const file of files) {
    if (file.endsWith('.svg') && !file.startsWith('dist/')) continue;
    const text = read(file);
    if (file.endsWith('.map')) problems.push(...sourceMapProblems(file, text, shipped));
    for (const [what, pattern] of SECRETS) if (pattern.test(text)) problems.push(`${file} holds what looks like ${what}`);
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  // --ignore-scripts: check:package has built dist/ already; prepack would only check it again.
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  if (pack.status !== 0) {
    console.error(`check-pack: npm pack --dry-run failed:\n${pack.stderr}`);
    process.exit(1);
  }
  const [packed] = JSON.parse(pack.stdout);
  const files = packed.files.map((file) => file.path).sort();
  const read = (file) => readFileSync(join(root, file), 'utf8');
  const problems = packProblems(files, read, JSON.parse(read('package.json')));
  if (problems.length > 0) {
    console.error(`check-pack: the package (${packed.filename}) is not as intended:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `check-pack: ${packed.filename} holds the ${files.length} intended files (${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked): ${files.join(', ')}`,
  );
}
