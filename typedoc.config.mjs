// TypeDoc: the API reference (`npm run docs`, into docs/api/, not committed or published), and
// `npm run check:docs` (part of `npm test`), which fails on an undocumented public symbol or a
// broken {@link}.
//
// The entry points are package.json's exports, so a new subpath export is documented (and
// checked) without a change here: `./x` is src/x.ts, unless SOURCES says otherwise.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The source of each export whose file is not src/<subpath>.ts. */
const SOURCES = { '.': 'src/index.ts' };

const { name, exports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** Import name (`mongosess`, `mongosess/express`, …) by absolute source path; the plugin names the modules so. */
export const importNames = new Map();
for (const subpath of Object.keys(exports).filter((subpath) => subpath !== './package.json')) {
  const source = SOURCES[subpath] ?? `src/${subpath.slice(2)}.ts`;
  if (!existsSync(new URL(source, import.meta.url))) {
    throw new Error(`typedoc.config.mjs: package.json exports ${subpath}, but ${source} does not exist; add it to SOURCES`);
  }
  importNames.set(fileURLToPath(new URL(source, import.meta.url)), subpath === '.' ? name : `${name}/${subpath.slice(2)}`);
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints: [...importNames.keys()],
  out: 'docs/api',
  plugin: ['./scripts/typedoc-entry-names.mjs'],
  readme: 'none',
  // Modules in package.json's order (the main entry first), members in source order.
  sortEntryPoints: false,
  excludeInternal: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeExternals: true,
  includeVersion: true,
  // Source links name the public repository, whatever this clone's remote is (CI clones a local path).
  sourceLinkTemplate: 'https://github.com/mongosess/mongosess/blob/{gitRevision}/{path}#L{line}',
  sort: ['kind', 'instance-first', 'source-order'],
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true },
};
