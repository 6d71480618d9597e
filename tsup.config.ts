import { defineConfig } from 'tsup';

const shared = { target: 'node18', sourcemap: true, clean: false, outDir: 'dist' } as const;

export default defineConfig([
  // The implementation, once, as CommonJS: module.exports is MongoSess itself (cjsInterop),
  // as mongosess 0.4 had it. The ESM entry (src/index.mjs, copied by `npm run build`)
  // re-exports it, so import and require share one module state.
  { ...shared, entry: { index: 'src/index.cjs.ts' }, format: ['cjs'], cjsInterop: true, splitting: true, dts: true },
  // Types of the ESM entry: default export plus named exports.
  { ...shared, entry: { index: 'src/index.ts' }, format: ['esm'], dts: { only: true } },
  // The framework integrations (mongosess/express, /koa, /fastify), ESM and CommonJS. They import
  // 'mongosess' by name and it stays external, so they use the main entry's one MongoSess and
  // connection instead of bundling a second copy.
  {
    ...shared,
    entry: { express: 'src/express.ts', koa: 'src/koa.ts', fastify: 'src/fastify.ts' },
    format: ['esm', 'cjs'],
    external: ['mongosess'],
    dts: true,
  },
]);
