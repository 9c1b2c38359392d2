import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const brokerHttpPort = process.env.MQLIVE_HTTP_PORT ?? '8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    host: '127.0.0.1',
    // The dev server serves the page; MQTT over WebSocket still goes to the broker.
    proxy: {
      '/mqtt': { target: `ws://127.0.0.1:${brokerHttpPort}`, ws: true },
      '/healthz': `http://127.0.0.1:${brokerHttpPort}`,
    },
  },
});
