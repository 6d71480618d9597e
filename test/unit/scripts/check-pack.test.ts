// scripts/check-pack.mjs: the rules a published file list must meet, on made-up packages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packProblems, TOP_LEVEL } from '../../../scripts/check-pack.mjs';

const manifest = {
  main: './dist/index.cjs',
  types: './dist/index.d.cts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './express': { import: { types: './dist/express.d.ts', default: './dist/express.js' } },
    './package.json': './package.json',
  },
};

const map = (sources: string[], sourcesContent?: string[]) => JSON.stringify({ version: 3, sources, sourcesContent, mappings: '' });

/** A good package: the entries, a shared declaration chunk, source maps embedding src/. */
function goodPackage(): Record<string, string> {
  return {
    ...Object.fromEntries(TOP_LEVEL.map((file) => [file, `${file}\n`])),
    'docs/benchmarks.md': '# Benchmarks\n',
    'docs/benchmarks.svg': '<svg/>',
    'dist/index.cjs': 'module.exports = {};\n//# sourceMappingURL=index.cjs.map\n',
    'dist/index.cjs.map': map(['../src/index.ts'], ['export {};']),
    'dist/index.js': "import MongoSess from './index.cjs';\nexport default MongoSess;\n",
    'dist/index.d.ts': 'export {};\n',
    'dist/index.d.cts': 'export = {};\n',
    'dist/express.js': "import MongoSess from 'mongosess';\n//# sourceMappingURL=express.js.map\n",
    'dist/express.js.map': map(['../src/express.ts'], ['export {};']),
    'dist/express.d.ts': "import { S } from './types-AbC123.js';\nexport type { S };\n",
    'dist/types-AbC123.d.ts': 'export type S = string;\n',
  };
}

function problems(files: Record<string, string>): string[] {
  return packProblems(Object.keys(files).sort(), (path) => files[path] ?? assert.fail(`read ${path}`), manifest);
}

describe('check-pack: the published file list', () => {
  it('accepts a package of entries, the chunks they use, their source maps and the documents', () => {
    assert.deepEqual(problems(goodPackage()), []);
  });

  it('refuses tests, sources, configuration, secrets files and generated API pages', () => {
    for (const file of ['test/unit/x.test.ts', 'src/index.ts', 'tsconfig.json', '.env', 'dist/key.pem', 'docs/api/index.html', 'x.tgz']) {
      assert.deepEqual(problems({ ...goodPackage(), [file]: '' }), [`${file} is not meant to be published`], file);
    }
  });

  it('requires the top-level documents, and every file package.json names', () => {
    const { 'SECURITY.md': _, ...withoutSecurity } = goodPackage();
    assert.deepEqual(problems(withoutSecurity), ['SECURITY.md is missing from the package']);
    const { 'dist/index.d.cts': __, ...withoutTypes } = goodPackage();
    assert.deepEqual(problems(withoutTypes), ['package.json names dist/index.d.cts, which is not in the package']);
  });

  it('finds a chunk left from an older build, and a chunk an entry needs but the package lacks', () => {
    assert.deepEqual(problems({ ...goodPackage(), 'dist/types-Old999.d.ts': 'export type S = number;\n' }), [
      'dist/types-Old999.d.ts is used by no entry point (left from an older build? rm -rf dist && npm run build)',
    ]);
    const { 'dist/types-AbC123.d.ts': _, ...withoutChunk } = goodPackage();
    assert.deepEqual(problems(withoutChunk), ['dist/express.d.ts refers to dist/types-AbC123.d.ts, which is not in the package']);
  });

  it("counts package.json's bin as an entry point", () => {
    const files = { ...goodPackage(), 'dist/cli.js': "#!/usr/bin/env node\nimport './index.js';\n" };
    const read = (path: string) => files[path as keyof typeof files] ?? assert.fail(`read ${path}`);
    const sorted = Object.keys(files).sort();
    assert.deepEqual(packProblems(sorted, read, manifest), [
      'dist/cli.js is used by no entry point (left from an older build? rm -rf dist && npm run build)',
    ]);
    assert.deepEqual(packProblems(sorted, read, { ...manifest, bin: { mongosess: './dist/cli.js' } }), []);
  });

  it('refuses source maps with absolute paths, paths above the package, or sources neither shipped nor embedded', () => {
    const cases: [string, string][] = [
      [
        map(['/home/ci/mongosess/src/index.ts'], ['x']),
        'dist/index.cjs.map: source "/home/ci/mongosess/src/index.ts" is an absolute path or URL (it names a path on the machine that built it)',
      ],
      [
        map(['file:///tmp/index.ts'], ['x']),
        'dist/index.cjs.map: source "file:///tmp/index.ts" is an absolute path or URL (it names a path on the machine that built it)',
      ],
      [map(['../../src/index.ts'], ['x']), 'dist/index.cjs.map: source ../../src/index.ts points outside the package (../src/index.ts)'],
      [
        map(['../src/index.ts']),
        'dist/index.cjs.map: source ../src/index.ts is not in the package and the map does not embed its text (sourcesContent)',
      ],
    ];
    for (const [text, expected] of cases) assert.deepEqual(problems({ ...goodPackage(), 'dist/index.cjs.map': text }), [expected]);
    // A source the package ships needs no embedded text.
    assert.deepEqual(problems({ ...goodPackage(), 'dist/index.cjs.map': map(['index.cjs']) }), []);
  });

  it('finds secrets in any file, source map text included', () => {
    const secrets = [
      ['-----BEGIN RSA PRIVATE KEY-----\nMIIE', 'a private key'],
      [`token=npm_${'a1'.repeat(18)}`, 'an npm token'],
      [`ghp_${'Z9'.repeat(18)}`, 'a GitHub token'],
      ["'mongodb+srv://app:hunter2@cluster0.example.net/'", 'a connection string with a password'],
    ];
    for (const [secret, what] of secrets) {
      assert.deepEqual(problems({ ...goodPackage(), 'README.md': `# x\n${secret}\n` }), [`README.md holds what looks like ${what}`]);
    }
    assert.deepEqual(
      problems({ ...goodPackage(), 'dist/index.cjs.map': map(['../src/index.ts'], [`const k = '${`npm_${'b2'.repeat(18)}`}';`]) }),
      ['dist/index.cjs.map holds what looks like an npm token'],
    );
    // A connection string without a password is no secret (the README's examples have them).
    assert.deepEqual(problems({ ...goodPackage(), 'README.md': "uri: 'mongodb://127.0.0.1:27017/'" }), []);
  });
});
