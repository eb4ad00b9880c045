// Writes dashboards.gen.ts: each dashboard of ../dashboards as a typed
// constant, so `tsc` checks it against @grafana/schema's Dashboard type
// (object literals get excess-property and literal-type checks that a JSON
// import would not).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../dashboards/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) throw new Error('no dashboards found');
let out = "import type { Dashboard } from '@grafana/schema';\n\n";
for (const file of files) {
  const json = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  const name = file.replace(/\.json$/, '').replace(/[^A-Za-z0-9]/g, '_');
  out += `export const ${name}: Dashboard = ${JSON.stringify(json, null, 2)};\n\n`;
}
writeFileSync(new URL('dashboards.gen.ts', import.meta.url), out);
console.log(`checked ${files.length} dashboards: ${files.join(', ')}`);
