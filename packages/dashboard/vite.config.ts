import { defineConfig } from "vite"

// Served by the gateway under /ui; relative asset paths keep the bundle movable. Core's pure
// modules (the job timeline) resolve to their TypeScript sources through "@eddy/source".
export default defineConfig({
  base: "./",
  resolve: { conditions: ["@eddy/source", "browser", "module", "import", "default"] },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 200 },
  logLevel: "warn",
})
