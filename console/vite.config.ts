import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Dev: `npm run dev -w console` proxies the API to a server on :4600.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: { proxy: { '/api': 'http://127.0.0.1:4600' } },
});
