/**
 * Random interleavings of every lifecycle call by a few simulated workers and an operator, on a
 * real Redis with a fresh key space per run. Typed refusals are expected and ignored; afterwards
 * the records, the event log, the inbox and the delayed set must tell one consistent story.
 * The model (`propertyOps`), the runner (`propertyRun`) and the checks (`propertyChecks`) are
 * beside this file.
 */
import { describe, it } from "@effect/vitest"
import { Duration, Effect, Runtime } from "effect"
import fc from "fast-check"
import type { RedisClient } from "../../src/RedisClient.js"
import * as Settings from "../../src/Settings.js"
import * as TestRedis from "../support/TestRedis.js"
import { checkConsistency, checkReadModel } from "./propertyChecks.js"
import { type Op, operatorScenario, scenario } from "./propertyOps.js"
import { run } from "./propertyRun.js"

describe("lifecycle property", () => {
  it.live(
    "any interleaving keeps records, log and queues consistent",
    () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<RedisClient>()
        const once = (ops: ReadonlyArray<Op>) =>
          Runtime.runPromise(runtime)(
            run(ops).pipe(
              Effect.flatMap((submitted) => Effect.zipRight(checkConsistency(submitted), checkReadModel)),
              Effect.provide(Settings.layer({ prefix: TestRedis.uniquePrefix("prop") })),
            ),
          )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenario, async (ops) => {
              await once(ops)
            }),
            { numRuns: 50 },
          ),
        )
      }).pipe(Effect.provide(TestRedis.layer())),
    120_000,
  )

  it.live(
    "with requeue, purge and expire too, the inline read model equals a rebuild from the log",
    () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<RedisClient>()
        const once = (ops: ReadonlyArray<Op>) =>
          Runtime.runPromise(runtime)(
            run(ops, true).pipe(
              Effect.zipRight(checkReadModel),
              Effect.provide(
                Settings.layer({
                  prefix: TestRedis.uniquePrefix("prop"),
                  retention: Duration.millis(25),
                  deadLetterRetention: Duration.millis(40),
                }),
              ),
            ),
          )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(operatorScenario, async (ops) => {
              await once(ops)
            }),
            { numRuns: 50 },
          ),
        )
      }).pipe(Effect.provide(TestRedis.layer())),
    120_000,
  )
})
