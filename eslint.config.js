// Lint config: type-aware rules for async code, and the layer boundaries of docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  {
    // The engine is a pure library: no I/O, no imports from outer layers.
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'net', 'child_process', 'fs/promises', 'http', 'https', 'os'],
              message: 'src/engine is a pure library: no node: I/O modules (the app layer does I/O).',
            },
            {
              group: [
                '../../cli/*',
                '../../app/*',
                '../../capture/*',
                '../../sinks/*',
                '../../store/*',
                '../../hub/*',
                '../cli/*',
                '../app/*',
                '../capture/*',
                '../sinks/*',
                '../store/*',
                '../hub/*',
                '../replay/*',
                '../../replay/*',
              ],
              message: 'src/engine must not import from outer layers.',
            },
          ],
        },
      ],
    },
  },
);
