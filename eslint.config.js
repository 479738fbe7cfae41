import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.vercel/', 'bench/results/', 'coverage/', 'public/docs/', 'public/openapi.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Promises: a floating one hides a failure (or a write that never happened); an async callback where
  // a void one is expected runs unawaited; awaiting a non-promise is a mistake. These rules need types.
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  // Plain JavaScript run by Node itself (the built-function test server runs on the deployed Node.js).
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-control-regex': 'off',
      // `import { z } from 'zod'` pulls every locale and the JSON-schema tools into a function (about
      // 550 KB more per bundle); the namespace import lets the bundler keep what is used.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z']",
          message: "Use import * as z from 'zod'.",
        },
      ],
    },
  },
);
