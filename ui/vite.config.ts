import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app is served at "/" by the API server from ui/dist; the API lives under /api/v1.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": "http://127.0.0.1:8081",
    },
  },
});
