// @ts-check
import tseslint from 'typescript-eslint';
import unicorn from 'eslint-plugin-unicorn';
import globals from 'globals';

const deepImports = {
  group: ['@obsq/*/src', '@obsq/*/src/*'],
  message: 'Import a package through its public entry point (index.ts), not its src/ files.',
};

/** Package boundaries: shared imports no service; services don't import each other. */
const boundary = (files, banned, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [deepImports, { group: banned, message: why }],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.obsq/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { unicorn },
    rules: {
      'unicorn/filename-case': ['error', { case: 'camelCase' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [deepImports] }],
    },
  },
  { files: ['packages/**/*.ts'], ignores: ['packages/**/*.test.ts'], rules: { 'no-console': 'error' } },
  boundary(
    ['packages/shared/**/*.ts'],
    ['@obsq/producer', '@obsq/worker', '@obsq/devstack', '@obsq/cli', '**/producer/src/**', '**/worker/src/**', '**/devstack/src/**', '**/cli/src/**'],
    'shared must not import a service.',
  ),
  boundary(
    ['packages/producer/**/*.ts'],
    ['@obsq/worker', '@obsq/devstack', '@obsq/cli', '**/worker/src/**', '**/devstack/src/**', '**/cli/src/**'],
    'producer must not import another service.',
  ),
  boundary(
    ['packages/worker/**/*.ts'],
    ['@obsq/producer', '@obsq/devstack', '@obsq/cli', '**/producer/src/**', '**/devstack/src/**', '**/cli/src/**'],
    'worker must not import another service.',
  ),
  boundary(
    ['packages/devstack/**/*.ts'],
    ['@obsq/producer', '@obsq/worker', '@obsq/cli', '**/producer/src/**', '**/worker/src/**', '**/cli/src/**'],
    'devstack must not import a service.',
  ),
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
