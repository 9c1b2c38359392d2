import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'viewer/dist/', 'test-results/', 'bench/results/', '**/*.svelte'] },
  ...tseslint.configs.recommended,
  {
    // A switch on a union (a contract message's pattern, a topic's kind) names every member: a new contract row
    // or kind is an error at each switch that forgets it. This rule needs the types, hence the project service.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // A `default` that handles "anything else" of an open string (a command word) counts as covering it.
    rules: { '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }] },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/publisher/**'], message: 'broker/ and viewer/ must not import publisher/' }] },
      ],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    ignores: ['protocol/**/*.test.ts'], // tests are not bundled, and may start a real broker
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'net', 'http', 'child_process'], message: 'protocol/ is bundled for the browser: no Node-only modules' },
            { group: ['**/broker/**', '**/publisher/**', '**/viewer/**'], message: 'protocol/ imports nothing of mqlive' },
          ],
        },
      ],
    },
  },
  {
    files: ['publisher/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/broker/**', '**/viewer/**'], message: 'publisher/ imports only protocol/ and cli/' }] }],
    },
  },
  {
    files: ['recorder/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/broker/**', '**/publisher/**', '**/viewer/**'], message: 'recorder/ imports only protocol/ and cli/' }] }],
    },
  },
  {
    // The command runner is shared by every command: it knows none of them.
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/protocol/**', '**/broker/**', '**/publisher/**', '**/viewer/**', '**/scripts/**', '**/bin/**'], message: 'cli/ imports nothing of mqlive' }] },
      ],
    },
  },
  {
    // The mqlive command and the supervisor put the parts together.
    files: ['bin/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Multi-process tests and benchmarks drive every part together.
    files: ['e2e/**/*.ts', 'test-support/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
