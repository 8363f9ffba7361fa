import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** Two pages: the waiting room (`/`) and the operators' console (`/console`), each with only its own code. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // relative asset URLs: the pages work at the root of the API, or under any path of a static host
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: { input: { index: page('index.html'), console: page('console.html') } },
  },
  server: { proxy: { '/trpc': 'http://127.0.0.1:3000' } },
});
