// A TypeDoc plugin (typedoc.config.mjs loads it): names each entry point's module by its import
// name, `mongosess/express` rather than TypeDoc's `express` (the file name), from the map
// typedoc.config.mjs derives from package.json's exports.
import { Converter, ReflectionKind } from 'typedoc';
import { importNames } from '../typedoc.config.mjs';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const name = importNames.get(module.sources?.[0]?.fullFileName ?? '');
      if (!name) throw new Error(`typedoc-entry-names: module ${module.name} is no entry point of package.json's exports`);
      module.name = name;
    }
  });
}
