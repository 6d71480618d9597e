#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof` or `npm run bench:overhead -- --profile`):
// whose code the CPU time went to, and the top frames attributable to mongosess.
//   node bench/profile-top.mjs FILE.cpuprofile [--ops N] [--top 15]
//
// Each sample belongs to the innermost frame that is package code: mongosess (its dist/ or src/,
// and the cookies/keygrip packages it calls), the driver (mongodb, bson) or the benchmark itself.
// Node's own functions (crypto, http headers, promises) count for the package that called them,
// so an HMAC computed for a cookie signature is mongosess's time. A mongosess sample is listed
// under its innermost mongosess frame, mapped to src/ through the build's source map.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const OWNERS = [
  [/\/node_modules\/(mongodb|bson)\//, 'driver'],
  [/\/node_modules\/(cookies|keygrip|tsscmp)\//, 'mongosess'],
  [/\/bench\//, 'benchmark'],
  [/\/(dist|src)\/[^/]+\.(c?js|ts)$/, 'mongosess'],
];
const SPECIAL = { '(garbage collector)': 'gc', '(program)': 'runtime', '(idle)': 'idle' };

function ownerOf(frame) {
  const special = SPECIAL[frame.functionName];
  if (special && !frame.url) return special;
  for (const [pattern, owner] of OWNERS) if (pattern.test(frame.url)) return owner;
  return undefined;
}

const sourceMaps = new Map();
function original(frame) {
  if (!frame.url.includes('/dist/')) return `${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
  let map = sourceMaps.get(frame.url);
  if (map === undefined) {
    try {
      const file = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url;
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    sourceMaps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry?.originalSource) return `${frame.url.replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}`;
  return `${entry.originalSource.replace(/^.*\/src\//, 'src/')}:${entry.originalLine + 1}`;
}

export function summarizeProfile(profile, { ops = 0, top = 15 } = {}) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const attribution = new Map();
  const attribute = (id) => {
    let result = attribution.get(id);
    if (result) return result;
    const frame = byId.get(id).callFrame;
    const owner = ownerOf(frame);
    const up = parent.get(id);
    if (owner) result = { owner, frame: owner === 'mongosess' ? frame : undefined };
    else if (up === undefined) result = { owner: 'node', frame: undefined };
    else result = attribute(up);
    attribution.set(id, result);
    return result;
  };

  const owners = new Map();
  const frames = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    total += micros;
    const { owner, frame } = attribute(id);
    owners.set(owner, (owners.get(owner) ?? 0) + micros);
    if (frame) {
      const key = `${frame.functionName || '(anonymous)'} ${original(frame)}`;
      frames.set(key, (frames.get(key) ?? 0) + micros);
    }
  });

  const perOp = (micros) => (ops ? (micros / ops).toFixed(1) : '–');
  const share = (micros) => `${((100 * micros) / total).toFixed(1)}%`;
  const lines = ['| Owner | share of samples | µs/op |', '|---|---:|---:|'];
  for (const [owner, micros] of [...owners].sort((a, b) => b[1] - a[1])) lines.push(`| ${owner} | ${share(micros)} | ${perOp(micros)} |`);
  lines.push('', `Top mongosess frames (innermost mongosess frame; Node built-ins it called included):`, '');
  lines.push('| Frame | share of samples | µs/op |', '|---|---:|---:|');
  for (const [key, micros] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`| \`${key}\` | ${share(micros)} | ${perOp(micros)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile-top.mjs FILE.cpuprofile [--ops N] [--top 15]');
    process.exit(2);
  }
  const option = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? fallback : Number(process.argv[i + 1]);
  };
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), { ops: option('ops', 0), top: option('top', 15) }));
}
