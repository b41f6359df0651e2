// Lint: TypeScript rules with type information (no floating promises) and the import
// boundaries of DESIGN.md: proto imports nothing of ours; gateway and saas-relay never
// import each other; installer-ova may use proto and gateway only.
import tseslint from 'typescript-eslint';

const boundary = (forbidden, why) => ({
  'no-restricted-imports': ['error', {
    patterns: forbidden.map((dir) => ({ group: [`**/${dir}/**`, `**/${dir}`], message: why })),
  }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', 'eslint.config.js', 'test/fixtures/**/*.go', 'test/support/*.mjs', '.tmp/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  // The wizard's page: plain browser modules outside the TypeScript project.
  { files: ['installer-ova/wizard/static/**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['proto/**/*.ts'], rules: boundary(['saas-relay', 'gateway', 'installer-ova', 'test'], 'proto/ imports nothing of ours') },
  { files: ['saas-relay/**/*.ts'], rules: boundary(['gateway', 'installer-ova', 'test'], 'saas-relay/ may import proto/ only') },
  { files: ['gateway/**/*.ts'], rules: boundary(['saas-relay', 'installer-ova', 'test'], 'gateway/ may import proto/ only') },
  { files: ['installer-ova/**/*.ts'], rules: boundary(['saas-relay', 'test'], 'installer-ova/ may import proto/ and gateway/ only') },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
