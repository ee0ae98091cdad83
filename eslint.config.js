import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports a layer may not make (docs/architecture.md, "Layers"). */
const NODE = { group: ['node:*'], message: 'only src/backends and src/cli touch node: modules' };
const HOST = {
  group: ['**/backends/*', '**/backends/**', '**/cli/*', '**/cli/**'],
  message: 'the machine, devices and protocols know no host backend or command line',
};
const MACHINE = {
  group: ['**/machine/*', '!**/machine/device.js', '**/jit/*', '**/sbi/*', '**/snapshot/*'],
  message: 'a device sees the machine only through machine/device.js',
};
const CLI = { group: ['**/cli/*', '**/cli/**'], message: 'backends know no command line' };

export default tseslint.config(
  // src/cpu is AssemblyScript, compiled alone by asc: it can import nothing
  // but its own files and the generated decoder (anything else fails to compile).
  { ignores: ['dist/', 'build/', 'node_modules/', 'src/cpu/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The host-neutral core: it runs in a browser as well as in Node.
    files: ['src/**/*.ts'],
    ignores: ['src/backends/**', 'src/cli/**', 'src/vm.ts', 'src/index.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NODE, HOST] }] },
  },
  {
    files: ['src/devices/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NODE, HOST, MACHINE] }] },
  },
  {
    files: ['src/backends/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [CLI] }] },
  },
);
