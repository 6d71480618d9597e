import { defineConfig } from 'tsup';

const shared = { target: 'node18', clean: false, outDir: 'dist' } as const;

// scripts/build-entries.mjs then writes dist/index.js (the ESM entry, re-exporting the CommonJS
// build) and dist/index.d.cts from these two outputs.
export default defineConfig([
  // The implementation, once, as CommonJS: module.exports is MongoSess itself (cjsInterop),
  // as mongosess 0.4 had it.
  { ...shared, entry: { index: 'src/index.cjs.ts' }, format: ['cjs'], cjsInterop: true, splitting: true, sourcemap: true },
  // The types of src/index.ts: default export plus named exports. `@internal` members stay out.
  { ...shared, entry: { index: 'src/index.ts' }, format: ['esm'], dts: { only: true, compilerOptions: { stripInternal: true } } },
  // The framework integrations (mongosess/express, /express-session, /koa, /fastify, /fetch), ESM and CommonJS. They import
  // 'mongosess' by name and it stays external, so they use the main entry's one MongoSess and
  // connection instead of bundling a second copy.
  {
    ...shared,
    entry: {
      express: 'src/express.ts',
      'express-session': 'src/express-session.ts',
      koa: 'src/koa.ts',
      fastify: 'src/fastify.ts',
      fetch: 'src/fetch.ts',
    },
    format: ['esm', 'cjs'],
    external: ['mongosess'],
    sourcemap: true,
    dts: { compilerOptions: { stripInternal: true } },
  },
  // The operator's command line (`npx mongosess`, package.json "bin"): ESM, the shebang kept from
  // src/cli.ts. It imports the main entry by name too; only the doctor's probes are its own.
  { ...shared, entry: { cli: 'src/cli.ts' }, format: ['esm'], external: ['mongosess'], sourcemap: true },
]);
