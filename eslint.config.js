// @ts-check
import tseslint from 'typescript-eslint';
import unicorn from 'eslint-plugin-unicorn';
import globals from 'globals';

const deepImports = {
  group: ['@obsq/*/src', '@obsq/*/src/*'],
  message: 'Import a package through its public entry point (index.ts), not its src/ files.',
};

const pkgs = (...names) => names.map((n) => `@obsq/${n}`);
const srcOf = (...names) => names.map((n) => `**/${n}/src/**`);

/**
 * Package boundaries, one way down: services (producer, worker, devstack, cli) → storage, speech →
 * shared (the contract). Services don't import each other; storage and speech don't import each other.
 */
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
  { ignores: ['**/node_modules/**', '**/dist/**', '.obsq/**', 'coverage/**', 'reports/**', '.stryker-tmp/**'] },
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
    ['@obsq/storage', '@obsq/speech', ...pkgs('producer', 'worker', 'devstack', 'cli'), ...srcOf('storage', 'speech', 'producer', 'worker', 'devstack', 'cli')],
    'shared is the contract: it imports neither storage, speech nor a service.',
  ),
  boundary(
    ['packages/storage/**/*.ts'],
    [...pkgs('speech', 'producer', 'worker', 'devstack', 'cli'), ...srcOf('shared', 'speech', 'producer', 'worker', 'devstack', 'cli')],
    'storage may import only shared (through @obsq/shared).',
  ),
  boundary(
    ['packages/speech/**/*.ts'],
    [...pkgs('storage', 'producer', 'worker', 'devstack', 'cli'), ...srcOf('shared', 'storage', 'producer', 'worker', 'devstack', 'cli')],
    'speech may import only shared (through @obsq/shared).',
  ),
  boundary(
    ['packages/producer/**/*.ts'],
    [...pkgs('speech', 'worker', 'devstack', 'cli'), ...srcOf('shared', 'storage', 'speech', 'worker', 'devstack', 'cli')],
    'producer must not import speech or another service.',
  ),
  boundary(
    ['packages/worker/**/*.ts'],
    [...pkgs('producer', 'devstack', 'cli'), ...srcOf('shared', 'storage', 'speech', 'producer', 'devstack', 'cli')],
    'worker must not import another service.',
  ),
  boundary(
    ['packages/devstack/**/*.ts'],
    [...pkgs('producer', 'worker', 'cli'), ...srcOf('shared', 'storage', 'speech', 'producer', 'worker', 'cli')],
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
