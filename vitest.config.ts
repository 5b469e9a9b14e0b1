import { defineConfig } from "vitest/config"

// Packages resolve to their TypeScript sources through the "@eddy/source" export condition, so
// tests never need a build. Every project gets a throwaway redis-server from the global setup.
// `*.cluster.test.ts` files need a Redis Cluster: they run in the cluster projects only.
const clusterOnly = "**/*.cluster.test.ts"
const project = (name: string, include: string) => ({
  extends: true as const,
  test: { name, include: [include], exclude: ["**/node_modules/**", clusterOnly] },
})

// The cluster target: suites that run a second time against one Redis Cluster of 3 masters and
// 3 replicas (started by the global setup for the whole run, only when one of these projects is
// selected), where `TestRedis.layer()` connects to the cluster and jobs spread over 12 partitions
// (every master holds some). Together they run every Lua script and every read on the cluster.
const clusterProject = (
  name: string,
  include: ReadonlyArray<string>,
  options: { readonly exclude?: ReadonlyArray<string>; readonly partitions?: number } = {},
) => ({
  extends: true as const,
  test: {
    name: `cluster-${name}`,
    include: [...include],
    exclude: ["**/node_modules/**", ...(options.exclude ?? [])],
    // The partitions the suites' harnesses spread jobs over (`TestRedis.partitions`).
    env: { EDDY_TEST_PARTITIONS: String(options.partitions ?? 12) },
  },
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
      clusterProject("core", ["packages/core/test/**/*.cluster.test.ts", "packages/core/test/lifecycle/*.test.ts"]),
      clusterProject("system", ["test/**/*.cluster.test.ts"]),
      clusterProject("workers", ["packages/workers/test/**/*.test.ts"], { partitions: 1 }),
      clusterProject("gateway", ["packages/gateway/test/**/*.test.ts"], { partitions: 1 }),
      clusterProject("cli", ["packages/cli/test/**/*.test.ts"], { partitions: 1 }),
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
