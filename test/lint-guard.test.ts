// The lint guard guards (STYLE.md: "a lint rule is only a guard if a test proves it fires"): files planted
// in a scratch copy of the layout are linted with the project's own eslint.config.js, and each planted
// fault must be reported by the rule meant to catch it, while the clean files stay clean.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The planted files, by path under the scratch root. */
const PLANTED: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }),
  // A two-file value cycle.
  'src/domain/value-a.ts': "import { b } from './value-b.js';\nexport const a = (): number => b() + 1;\n",
  'src/domain/value-b.ts': "import { a } from './value-a.js';\nexport const b = (): number => (a.length > 0 ? 1 : 0);\n",
  // A three-file cycle whose closing edge is type-only (the shape src/domain had).
  'src/domain/type-a.ts': "import type { B } from './type-b.js';\nexport interface A { b?: B }\n",
  'src/domain/type-b.ts': "import { c } from './type-c.js';\nexport interface B { c: typeof c }\n",
  'src/domain/type-c.ts': "import type { A } from './type-a.js';\nexport const c: A[] = [];\n",
  // Layer breaches: domain importing the API (a type only), connectors importing the engine.
  'src/api/app.ts': 'export interface App { name: string }\n',
  'src/domain/breach.ts': "import type { App } from '../api/app.js';\nexport const name = (app: App): string => app.name;\n",
  'src/engine/run.ts': 'export const run = (): void => undefined;\n',
  'src/connectors/breach.ts': "import { run } from '../engine/run.js';\nexport const go = (): void => run();\n",
  'src/expr/index.ts': 'export const evaluate = (): number => 1;\n',
  'src/domain/uses-driver.ts': "import type { Kysely } from 'kysely';\nimport type { FastifyInstance } from 'fastify';\nexport type Db = Kysely<object> | FastifyInstance;\n",
  'src/connectors/uses-expr.ts': "import { evaluate } from '../expr/index.js';\nexport const v = evaluate();\n",
  // The engine building queries or naming the dialect (issue 11): one planted file per kind of breach.
  'src/engine/query.ts': "export const q = (db: { selectFrom(t: string): unknown; updateTable(t: string): unknown; insertInto(t: string): unknown; deleteFrom(t: string): unknown }) => [db.selectFrom('runs'), db.updateTable('runs'), db.insertInto('runs'), db.deleteFrom('runs')];\n",
  'src/engine/raw.ts': "const sql = (s: TemplateStringsArray): string => s.join('');\nexport const r = sql`SELECT 1`;\n",
  'src/engine/dialect.ts': "export const pick = (database: { dialect: string; sqlite?: object }) => (database.dialect === 'postgres' ? 1 : database.sqlite ? 2 : 3);\n",
  // Allowed: the API importing the domain, inward.
  'src/domain/ok.ts': 'export const ok = 1;\n',
  'src/api/fine.ts': "import { ok } from '../domain/ok.js';\nexport const fine = ok + 1;\n",
};

let root = '';
let results: ESLint.LintResult[] = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'statusflow-lint-guard-'));
  for (const [path, text] of Object.entries(PLANTED)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  // import-x/no-restricted-paths resolves the zones against process.cwd(), as `npm run lint` from the root does.
  process.chdir(root);
  const eslint = new ESLint({ cwd: root, overrideConfigFile: join(repo, 'eslint.config.js') });
  results = await eslint.lintFiles(['src/**/*.ts']);
});

after(() => {
  process.chdir(repo);
  rmSync(root, { recursive: true, force: true });
});

/** The rule ids reported for a planted file. */
function rulesFor(path: string): string[] {
  const result = results.find((r) => r.filePath === join(root, path));
  assert.ok(result, `${path} was linted`);
  assert.deepEqual(result.messages.filter((m) => m.fatal), [], `${path} parsed`);
  return [...new Set(result.messages.map((m) => m.ruleId ?? ''))].sort();
}

test('a value cycle is reported by import-x/no-cycle and by our cycle rule', () => {
  for (const path of ['src/domain/value-a.ts', 'src/domain/value-b.ts']) {
    assert.deepEqual(rulesFor(path), ['import-x/no-cycle', 'statusflow/no-import-cycle'], path);
  }
});

test('a cycle through a type-only import is reported (import-x/no-cycle skips those by design)', () => {
  for (const path of ['src/domain/type-a.ts', 'src/domain/type-b.ts', 'src/domain/type-c.ts']) {
    assert.ok(rulesFor(path).includes('statusflow/no-import-cycle'), path);
  }
  const message = results.find((r) => r.filePath.endsWith('type-a.ts'))!.messages[0]!.message;
  assert.match(message, /src\/domain\/type-a\.ts → src\/domain\/type-b\.ts → src\/domain\/type-c\.ts → src\/domain\/type-a\.ts/);
});

test('an import against the layers (or of a driver into the domain) is reported, type-only too; an inward one is not', () => {
  assert.deepEqual(rulesFor('src/domain/breach.ts'), ['import-x/no-restricted-paths']);
  assert.deepEqual(rulesFor('src/connectors/breach.ts'), ['import-x/no-restricted-paths']);
  assert.deepEqual(rulesFor('src/connectors/uses-expr.ts'), ['import-x/no-restricted-paths'], 'connectors import the domain only');
  const driver = results.find((r) => r.filePath.endsWith('uses-driver.ts'))!.messages;
  assert.deepEqual(driver.map((m) => `${m.line}:${m.ruleId}`), ['1:no-restricted-imports', '2:no-restricted-imports'], 'the domain imports no driver and no Fastify');
  for (const path of ['src/api/fine.ts', 'src/domain/ok.ts', 'src/api/app.ts', 'src/engine/run.ts', 'src/expr/index.ts']) assert.deepEqual(rulesFor(path), [], path);
});

test('src/engine building a query, writing SQL, naming the dialect or reading database.sqlite is reported', () => {
  const lines = (path: string) => results.find((r) => r.filePath === join(root, path))!.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => `${m.column}`);
  assert.equal(lines('src/engine/query.ts').length, 4, 'selectFrom, updateTable, insertInto, deleteFrom');
  assert.deepEqual(rulesFor('src/engine/raw.ts'), ['no-restricted-syntax']);
  // `dialect` twice (the type's key and the read) and `.sqlite` once.
  assert.equal(lines('src/engine/dialect.ts').length, 3);
  assert.deepEqual(rulesFor('src/engine/run.ts'), [], 'a clean engine file stays clean');
});
