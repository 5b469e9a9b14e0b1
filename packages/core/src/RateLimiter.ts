/**
 * An actor's rate limit, enforced in Redis so that it holds across all of its workers together:
 * a rolling window of permits. A job over the limit waits for a permit; it never fails for it.
 */
import { randomUUID } from "node:crypto"
import { Duration, Effect } from "effect"
import type { RateLimit } from "./Actor.js"
import { runScript } from "./internal/runScript.js"
import * as Scripts from "./Scripts.js"
import { Settings } from "./Settings.js"

/** Takes a permit, or answers how long until one frees up. */
export const tryAcquire = (actor: string, limit: RateLimit) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const reply = yield* runScript(Scripts.rateAcquire, {
      keys: { window: keyspace.rate(actor) },
      args: { limit: limit.limit, windowMs: Math.round(Duration.toMillis(limit.per)), permitId: randomUUID() },
    })
    return Duration.millis(Number(reply))
  })

/** Waits until a permit is taken. */
export const acquire = (actor: string, limit: RateLimit) =>
  tryAcquire(actor, limit).pipe(
    Effect.flatMap((wait) => (Duration.isZero(wait) ? Effect.succeed(true) : Effect.as(Effect.sleep(wait), false))),
    Effect.repeat({ until: (taken) => taken }),
    Effect.asVoid,
  )
