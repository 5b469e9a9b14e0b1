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
      // Every lifecycle script, chaos/property test included (these keep to partition 0, one master);
      // the client, the SDK and the per-node reads on 12 partitions over all three masters.
      clusterProject("core", ["packages/core/test/**/*.cluster.test.ts", "packages/core/test/lifecycle/*.test.ts"]),
      clusterProject("system", ["test/**/*.cluster.test.ts"]),
      // Workers over 12 partitions: the chaos test, retries, housekeeping (reclaimer, promoter,
      // sweeper), pause across processes, results through the tailer, the connection budget.
      clusterProject("workers", [
        "packages/workers/test/**/*.cluster.test.ts",
        "packages/workers/test/Worker.chaos.test.ts",
        "packages/workers/test/Worker.smoke.test.ts",
        "packages/workers/test/Worker.retries.test.ts",
        "packages/workers/test/Worker.housekeeping.test.ts",
        "packages/workers/test/Worker.results.test.ts",
        "packages/workers/test/Worker.pause.test.ts",
      ]),
      // The gateway's jobs, dead letters and actors on one partition (their suites read
      // partition 0's keys).
      clusterProject(
        "gateway",
        [
          "packages/gateway/test/Gateway.jobs.test.ts",
          "packages/gateway/test/Gateway.deadLetters.test.ts",
          "packages/gateway/test/Gateway.actors.test.ts",
        ],
        { partitions: 1 },
      ),
      // `eddy tail` and actor discovery over 12 partitions. (The operator commands' suite spawns
      // a CLI process per command: too slow to run twice on 2 cores; its scripts and reads run
      // above, projection rebuild in the lifecycle property test.)
      clusterProject("cli", ["packages/cli/test/**/*.cluster.test.ts"]),
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
