/**
 * Starts one throwaway redis-server (free port, temp dir, AOF on) for a test project and stops
 * it afterwards. Tests read its URL with `inject("redisUrl")` and keep apart by key prefix; a
 * test that stops or kills Redis starts its own server instead.
 */
import { Effect, Exit, Scope } from "effect"
import type {} from "vitest"
import type { TestProject } from "vitest/node"
import * as EmbeddedRedis from "../../packages/core/src/EmbeddedRedis.js"

// Mirrors packages/core/test/support/providedContext.ts, which tests import.
declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
  }
}

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope)))
  project.provide("redisUrl", server.url)
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
