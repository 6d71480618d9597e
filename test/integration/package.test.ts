// The published shape: `npm pack`, install the tarball into an empty folder, then use it from
// CommonJS (`require('mongosess')`, as mongosess 0.4 users do) and from ESM, and compile against
// its types in fresh strict TypeScript projects.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MONGODB_URI, uniqueDbName } from '../helpers/db.js';
import { typeProjects } from '../helpers/type-projects.js';

const root = join(import.meta.dirname, '..', '..');
let dir = '';

/** A script that serves one request with a session, sets and reads a key, and prints the result. */
function roundTrip(importLine: string, db: string): string {
  return `${importLine}
const http = require_('node:http');
MongoSess.connect({ uri: ${JSON.stringify(MONGODB_URI)}, db: ${JSON.stringify(db)}, autoRemove: 'interval' }, (err) => {
  if (err) throw err;
  const server = http.createServer((req, res) => {
    const session = new MongoSess(req, res);
    session.set({ hello: 'world' }).then(() => session.get('hello')).then((v) => res.end(String(v)));
  }).listen(0, '127.0.0.1', () => {
    http.get('http://127.0.0.1:' + server.address().port + '/', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        console.log(JSON.stringify({ body, cookie: (res.headers['set-cookie'] || [])[0].split('=')[0], errorClass: typeof MongoSess.MongoSessError }));
        server.close();
        MongoSess.close();
      });
    });
  });
});
`;
}

describe('the npm package', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mongosess-pack-'));
    const tarball = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // At the versions the repository uses: @types/node (the published types refer to node:http), and
    // the frameworks' types the subpaths' types refer to (for the mixed-format project).
    const version = (name: string) =>
      `${name}@${JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version}`;
    const typeDeps = ['@types/node', '@types/express', '@types/koa', 'fastify'].map(version);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball), ...typeDeps], {
      cwd: dir,
      stdio: 'ignore',
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every named export is the very value found on MongoSess, through import and through require', async () => {
    writeFileSync(
      join(dir, 'exports.mjs'),
      `import * as named from 'mongosess';
import { createRequire } from 'node:module';
const required = createRequire(import.meta.url)('mongosess');
const MongoSess = named.default;
const differing = Object.keys(named).filter((key) =>
  key === 'default' ? named.default !== required : named[key] === undefined || named[key] !== MongoSess[key] || named[key] !== required[key],
);
console.log(JSON.stringify({ keys: Object.keys(named), differing, self: [required.MongoSess === required, required.default === required] }));
`,
    );
    const out = JSON.parse(execFileSync('node', ['exports.mjs'], { cwd: dir, encoding: 'utf8' }));
    assert.deepEqual(out.differing, []);
    assert.deepEqual(out.self, [true, true]);
    // Every runtime export of the source, and nothing else, is published.
    assert.deepEqual(out.keys.sort(), Object.keys(await import('../../src/index.js')).sort());
    assert.ok(out.keys.includes('FOURTEEN_DAYS_MS') && out.keys.includes('MongoSessError'));
  });

  it('the published types leave out the internals and need no @types package of a dependency', () => {
    for (const file of ['index.d.ts', 'index.d.cts']) {
      const types = readFileSync(join(dir, 'node_modules/mongosess/dist', file), 'utf8');
      assert.doesNotMatch(types, /\b(SessionCollection|StoreConfig|SessionDocument|WriteOps)\b/, file);
      assert.doesNotMatch(types, /from ['"](keygrip|cookies)['"]/, file);
    }
  });

  it('the types compile in fresh strict projects (no skipLibCheck): NodeNext ESM and CJS, node10, bundler, and a mix of ESM and CJS files', () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    for (const project of typeProjects) {
      mkdirSync(join(dir, project.name));
      for (const [file, text] of Object.entries(project.files)) writeFileSync(join(dir, project.name, file), text);
    }
    // One build-mode run checks them all and parses the shared declaration files once.
    try {
      execFileSync('node', [tsc, '--build', ...typeProjects.map((project) => project.name)], { cwd: dir, encoding: 'utf8' });
    } catch (err) {
      assert.fail((err as { stdout?: string }).stdout || String(err));
    }
  });

  it('ships only the build, types, README and LICENSE', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/mongosess/package.json'), 'utf8'));
    assert.equal(pkg.name, 'mongosess');
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['cookies', 'keygrip', 'mongodb']);
    const files = execFileSync('find', ['node_modules/mongosess', '-type', 'f'], { cwd: dir, encoding: 'utf8' });
    assert.match(files, /dist\/index\.cjs/);
    assert.match(files, /dist\/index\.d\.cts/);
    assert.doesNotMatch(files, /\/src\/|\/test\//);
  });

  it("require('mongosess') is MongoSess itself and works against the server", () => {
    writeFileSync(
      join(dir, 'use.cjs'),
      roundTrip("const MongoSess = require('mongosess'); const require_ = require;", uniqueDbName('cjs')),
    );
    const out = JSON.parse(
      execFileSync('node', ['use.cjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } }),
    );
    assert.deepEqual(out, { body: 'world', cookie: 'sess', errorClass: 'function' });
  });

  it("import MongoSess from 'mongosess' works against the server, with named error exports", () => {
    writeFileSync(
      join(dir, 'use.mjs'),
      roundTrip(
        "import MongoSess, { MongoSessError } from 'mongosess'; import { createRequire } from 'node:module'; const require_ = createRequire(import.meta.url); if (MongoSessError !== MongoSess.MongoSessError) throw new Error('two error classes'); if (require_('mongosess') !== MongoSess) throw new Error('import and require give two copies');",
        uniqueDbName('esm'),
      ),
    );
    const out = JSON.parse(
      execFileSync('node', ['use.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } }),
    );
    assert.deepEqual(out, { body: 'world', cookie: 'sess', errorClass: 'function' });
  });
});
