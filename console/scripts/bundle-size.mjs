// Measures the shipped JavaScript and CSS (gzipped), prints it, writes console/bundle-size.txt and
// fails the build when the JavaScript goes over the 400 KB budget.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 400;
const dir = join(import.meta.dirname, '../dist/assets');
let js = 0;
let css = 0;
let entry = 0;
const rows = [];
for (const name of readdirSync(dir).sort()) {
  const gz = gzipSync(readFileSync(join(dir, name)), { level: 9 }).length;
  if (name.endsWith('.js')) {
    js += gz;
    if (/^index-.*\.js$/.test(name)) entry += gz;
  } else if (name.endsWith('.css')) css += gz;
  else continue;
  rows.push(`  ${name.replace(/-[\w-]{8}\./, '.')}  ${(gz / 1024).toFixed(1)} KB`);
}
const text = [
  `Console bundle (gzip -9): JavaScript ${(js / 1024).toFixed(1)} KB of a ${BUDGET_KB} KB budget (${(entry / 1024).toFixed(1)} KB loaded at start, the rest with the editors), CSS ${(css / 1024).toFixed(1)} KB`,
  ...rows,
  '',
].join('\n');
process.stdout.write(text);
writeFileSync(join(import.meta.dirname, '../bundle-size.txt'), text);
if (js / 1024 > BUDGET_KB) {
  console.error(`the console's JavaScript is over its ${BUDGET_KB} KB budget`);
  process.exit(1);
}
