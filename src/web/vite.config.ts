import { defineConfig } from 'vite';

/**
 * Built with `vite build src/web --config src/web/vite.config.ts`, so `root` is this folder and the output lands
 * in dist/web, where the server serves it from. JSX goes through esbuild's automatic runtime: no React plugin.
 */
export const config = defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    // The server's CSP allows scripts from 'self' only: keep everything in files, nothing inlined.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod places comments where Rollup expects annotations; harmless, and not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
});

// eslint-disable-next-line no-restricted-syntax -- Vite reads the default export of its config file.
export default config;
