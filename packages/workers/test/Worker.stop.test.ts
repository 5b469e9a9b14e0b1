/**
 * A stop keeps to its grace: the grace counts from the stop, so the reader's last blocking read
 * (up to `blockFor`) is not added to it.
 */
import { Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Scope } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import { Slow } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"

describe("worker stop", () => {
  it.scopedLive("a stop during a blocking read takes the grace, not the grace plus the read's block time", () => {
    const prefix = TestRedis.uniquePrefix("stop")
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const running = yield* Deferred.make<void>()
      // Runs until interrupted: the stop must release it once the grace is over.
      const forever = Worker.handle(Slow, () =>
        Deferred.succeed(running, undefined).pipe(Effect.zipRight(Effect.never)),
      )
      const scope = yield* Scope.make()
      yield* H.inProcessWorker(TestRedis.url(), prefix, {
        handlers: [forever],
        blockFor: "4 seconds",
        shutdownGrace: "300 millis",
      }).pipe(Scope.extend(scope))
      const { jobId } = yield* producer.submit(Slow, { ms: 0 })
      yield* Deferred.await(running)
      // The reader is now back in a blocking read of up to 4 s.
      yield* Effect.sleep("100 millis")
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - started
      expect(took).toBeLessThan(2_000)
      // Released at the end of the grace: back in its inbox for another worker.
      expect((yield* producer.status(jobId)).state).toBe("queued")
    }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
  })
})
