// electron-vite with the product's layout: main/ (Electron main + preload) and renderer/
// instead of src/. The engine (app/) is compiled separately by tsc and run in a worker thread.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  main: {
    build: { rollupOptions: { input: { index: resolve('main/index.ts') } } },
  },
  preload: {
    build: { rollupOptions: { input: { index: resolve('main/preload/index.ts') } } },
  },
  renderer: {
    root: 'renderer',
    build: { rollupOptions: { input: { index: resolve('renderer/index.html') } } },
    plugins: [svelte({ configFile: resolve('svelte.config.mjs') })],
  },
});
