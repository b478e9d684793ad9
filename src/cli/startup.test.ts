/**
 * The client commands load no server code: main.ts's static imports (followed through our own files;
 * `import type` is erased and `await import()` is lazy) reach neither the server's layers nor the
 * heavy packages. This is what keeps `statusflow --help` fast (bench/cli measures it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..');
const STATIC_IMPORT = /^import\s+(?!type\b)[^;]*?from\s+'([^']+)';/gm;

function staticGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      else packages.add(spec!);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(SRC, f)).sort(), packages: [...packages].sort() };
}

test('statusflow main.ts statically imports only the CLI client, commander and node built-ins', () => {
  const { files, packages } = staticGraph(join(SRC, 'cli/main.ts'));
  const server = files.filter((f) => !f.startsWith('cli/') && f !== 'config-client.ts');
  assert.deepEqual(server, [], 'server code reached from main.ts: import it lazily (await import) in the command that needs it');
  assert.ok(!files.some((f) => ['cli/start.ts', 'cli/worker.ts', 'cli/migrate.ts', 'cli/demo.ts', 'cli/runtime.ts'].includes(f)), files.join(', '));
  assert.deepEqual(packages.filter((p) => !p.startsWith('node:')), ['commander']);
});
