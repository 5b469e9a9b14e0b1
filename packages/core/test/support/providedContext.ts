/** What the global setup hands to every test (see `globalSetup.ts`). */
import type {} from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
    /** The seed list of the run's Redis Cluster in the cluster projects; empty elsewhere. */
    redisCluster: string
  }
}
