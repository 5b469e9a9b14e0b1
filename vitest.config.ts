import { defineConfig } from "vitest/config"

// Packages resolve to their TypeScript sources through the "@eddy/source" export condition, so
// tests never need a build. Every project gets a throwaway redis-server from the global setup.
const project = (name: string, include: string) => ({
  extends: true as const,
  test: { name, include: [include] },
})

export default defineConfig({
  ssr: { resolve: { conditions: ["@eddy/source", "module", "node", "development|production"] } },
  test: {
    globalSetup: ["./test/support/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      project("core", "packages/core/test/**/*.test.ts"),
      project("workers", "packages/workers/test/**/*.test.ts"),
      project("gateway", "packages/gateway/test/**/*.test.ts"),
      project("cli", "packages/cli/test/**/*.test.ts"),
      project("dashboard", "packages/dashboard/test/**/*.test.ts"),
      project("system", "test/**/*.test.ts"),
      project("bench", "bench/test/**/*.test.ts"),
    ],
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts"],
      // Entry points run as processes (covered by system tests); index files only re-export.
      exclude: ["packages/*/src/**/main.ts", "packages/*/src/index.ts"],
      reporter: ["text-summary", "text"],
      thresholds: {
        "packages/core/src/**": { lines: 90 },
      },
    },
  },
})
