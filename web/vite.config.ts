import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { pagePolicies } from './build/csp.ts';
import { sandboxPage } from './build/sandbox.ts';

export default defineConfig({
  plugins: [react(), pagePolicies(), sandboxPage()],
  build: {
    target: 'es2022',
    // Reported in the README: the page's JavaScript, gzipped, aims at 100 KB or less.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 300,
    // Two pages: the volunteer page (/) and the operator dashboard (/dashboard), each with its own bundle,
    // so the dashboard's chart and QR code never weigh on a volunteer's download.
    rollupOptions: { input: { main: 'index.html', dashboard: 'dashboard.html' } },
  },
  server: {
    // `pnpm --filter @barnraise/web dev` against a master on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080', '/ws': { target: 'ws://127.0.0.1:8080', ws: true } },
  },
});
