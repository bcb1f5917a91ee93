import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
      ]
    }
  },
  {
    // The engine must not know GitHub: adapters in src/actions/ are the only place @actions/* is used.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@actions/*', '@octokit/*'] }]
    }
  },
  {
    // One place fails a step, always scrubbed of secrets: runAction in src/actions/runtime.ts.
    // Adapters do not import one another's entry points either (shared pieces live in core or in
    // the shared adapter modules).
    files: ['src/**/*.ts'],
    ignores: ['src/actions/runtime.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='setFailed']",
          message:
            'Fail a step only through runAction (src/actions/runtime.ts), which scrubs secrets.'
        }
      ]
    }
  },
  {
    files: ['src/actions/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                './build.js',
                './diff.js',
                './check.js',
                './matrix.js',
                './deploy.js',
                './dry-activate.js'
              ],
              message: 'An adapter does not import another action adapter.'
            }
          ]
        }
      ]
    }
  }
)
