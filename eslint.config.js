// Lint: TypeScript rules, no import cycles, and the inward dependency rule of STYLE.md
// (api → engine → store → domain → expr; connectors import domain only; only src/config.ts, and src/config-client.ts for the fast client
// commands, read process.env). test/lint-guard.test.ts plants a value cycle, a type cycle and a layer breach and fails
// if any of them passes: without `import-x/parsers` below, import-x/no-cycle parsed no .ts file and never fired.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import statusflow from './scripts/lint/no-import-cycle.js';

/** What src/engine may not contain: [esquery selector, message]. */
const ENGINE_RESTRICTED = [
  ["Identifier[name='dialect']", 'The store owns the dialect (src/store/dialect.ts): call a store operation instead.'],
  ["MemberExpression[property.name='sqlite']", 'The store chooses the SQLite fast path: call a store operation instead of reading database.sqlite.'],
  ["MemberExpression[property.name=/^(selectFrom|updateTable|insertInto|deleteFrom|replaceInto|mergeInto)$/]", 'Queries are built in src/store only: add or use a named store operation.'],
  ["TaggedTemplateExpression[tag.name='sql']", 'SQL is written in src/store only: add or use a named store operation.'],
];

const layer = (target, ...from) => ({ target: `./src/${target}`, from: from.map((f) => `./src/${f}`) });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'demo-data/**', 'console/dist/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX, statusflow },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': 'error',
      // import-x/no-cycle skips type-only imports by design; this one counts them (scripts/lint/no-import-cycle.js).
      'statusflow/no-import-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('expr', 'domain', 'store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('domain', 'store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('connectors', 'expr', 'store', 'engine', 'api', 'cli', 'config.ts'),
            layer('engine', 'api', 'cli', 'config.ts'),
            layer('api', 'cli', 'config.ts'),
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // STYLE.md: nothing in domain/ or expr/ imports a driver or Fastify (types included: they tie the shapes to them).
    files: ['src/domain/**/*.ts', 'src/expr/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['fastify', '@fastify/*', 'pg', 'better-sqlite3', 'kysely', 'undici'], message: 'domain/ and expr/ are pure: no driver, no Fastify.' }] },
      ],
    },
  },
  {
    // The store owns the database (issue 11): nothing in src/engine names a dialect, reads `database.sqlite` or
    // builds a query; it calls named store operations. test/lint-guard.test.ts proves each selector fires.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...ENGINE_RESTRICTED.map(([selector, message]) => ({ selector, message })),
      ],
    },
  },
  {
    // The console (console/, a browser app with its own tsconfig): the recommended rules only.
    files: ['console/**/*.{ts,tsx}'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/config-client.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration in src/config.ts only.' }],
    },
  },
);
