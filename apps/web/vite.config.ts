import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** Two pages: the waiting room (`/`) and the operators' console (`/console`), each with only its own code. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: { input: { index: page('index.html'), console: page('console.html') } },
  },
  server: { proxy: { '/trpc': 'http://127.0.0.1:3000' } },
});
