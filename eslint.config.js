// Lint: TypeScript rules, no import cycles, and the inward dependency rule of STYLE.md
// (api → engine → store → domain → expr; only src/config.ts reads process.env).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layer = (target, ...from) => ({ target: `./src/${target}`, from: from.map((f) => `./src/${f}`) });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'console/dist/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('expr', 'domain', 'store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('domain', 'store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('store', 'engine', 'connectors', 'api', 'cli', 'config.ts'),
            layer('connectors', 'store', 'engine', 'api', 'cli', 'config.ts'),
            layer('engine', 'api', 'cli', 'config.ts'),
            layer('api', 'cli', 'config.ts'),
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The console (console/, a browser app with its own tsconfig): the recommended rules only.
    files: ['console/**/*.{ts,tsx}'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration in src/config.ts only.' }],
    },
  },
);
