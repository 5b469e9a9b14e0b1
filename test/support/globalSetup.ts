/**
 * Starts one throwaway redis-server (free port, temp dir, AOF on) for a test project and stops
 * it afterwards. Tests read its URL with `inject("redisUrl")` and keep apart by key prefix; a
 * test that stops or kills Redis starts its own server instead.
 *
 * The cluster projects (`cluster-*` in vitest.config.ts) also get a Redis Cluster (3 masters,
 * 3 replicas: see `TestCluster`), one for the whole run, started only when such a project runs;
 * tests read its seed list with `inject("redisCluster")` (empty in the other projects), and
 * `TestRedis.layer()` connects to it there.
 */
import { Effect, Exit, Scope } from "effect"
import type {} from "vitest"
import type { TestProject } from "vitest/node"
import * as EmbeddedRedis from "../../packages/core/src/EmbeddedRedis.js"
import * as TestCluster from "./TestCluster.js"

// Mirrors packages/core/test/support/providedContext.ts, which tests import.
declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
    redisCluster: string
  }
}

/** Whether a project runs its tests against the run's cluster. */
export const isClusterProject = (name: string): boolean => name.startsWith("cluster-")

// Each project loads this file on its own, so the run's one cluster is kept on `globalThis`,
// with a count of the projects using it: the last one to finish stops it.
interface Shared {
  cluster: Promise<TestCluster.TestCluster & { readonly stop: () => Promise<void> }>
  users: number
}
const holder = globalThis as { eddyTestCluster?: Shared }

const useCluster = async () => {
  if (holder.eddyTestCluster === undefined) holder.eddyTestCluster = { cluster: TestCluster.startAsync(), users: 0 }
  const shared = holder.eddyTestCluster
  shared.users += 1
  const release = async () => {
    shared.users -= 1
    if (shared.users > 0) return
    delete holder.eddyTestCluster
    await (await shared.cluster).stop()
  }
  try {
    return { seeds: (await shared.cluster).seeds, release }
  } catch (error) {
    await release().catch(() => {})
    throw error
  }
}

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope)))
  project.provide("redisUrl", server.url)
  const cluster = isClusterProject(project.name) ? await useCluster() : undefined
  project.provide("redisCluster", cluster?.seeds ?? "")
  return async () => {
    await cluster?.release()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
