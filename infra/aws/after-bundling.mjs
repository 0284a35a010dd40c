// The Lambda asset's last step, run by CDK's local bundling as `node after-bundling.mjs OUT MAPS
// FILE...`: copies the served files (page script, widget, CLI, compiled at synth time) beside the
// bundle, and moves esbuild's source map out of the asset into MAPS, so Lambda's zip carries
// only what runs. Plain JavaScript on Node's own file API: a shell's `cp` would not exist on
// Windows, and this runs before any TypeScript loader could.
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';

const [output, mapsDir, ...files] = process.argv.slice(2);
if (output === undefined || mapsDir === undefined) {
  process.stderr.write('usage: node after-bundling.mjs OUTPUT_DIR SOURCE_MAPS_DIR [FILE ...]\n');
  process.exit(2);
}
for (const file of files) copyFileSync(file, join(output, basename(file)));
const map = join(output, 'index.mjs.map');
if (existsSync(map)) {
  mkdirSync(mapsDir, { recursive: true });
  // Named for the bundling directory, whose name carries the asset's hash.
  renameSync(map, join(mapsDir, `${basename(output)}.index.mjs.map`));
}
