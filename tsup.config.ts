import { defineConfig } from 'tsup';

const shared = { target: 'node18', sourcemap: true, dts: true, clean: false, outDir: 'dist' } as const;

export default defineConfig([
  // ESM: default export plus named exports.
  { ...shared, entry: { index: 'src/index.ts' }, format: ['esm'] },
  // CommonJS: module.exports is MongoSess itself (cjsInterop), as mongosess 0.4 had it.
  { ...shared, entry: { index: 'src/index.cjs.ts' }, format: ['cjs'], cjsInterop: true, splitting: true },
]);
