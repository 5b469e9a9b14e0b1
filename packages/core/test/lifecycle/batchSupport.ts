/** Helpers shared by the tests of the batch calls a worker makes (start-many, complete-many, claim). */
import { Effect, Either } from "effect"
import type { Lane } from "../../src/Actor.js"
import * as Deliveries from "../../src/Deliveries.js"
import type { Refusal } from "../../src/ScriptOutcome.js"
import { actor, type Inbox, inbox, inboxKey, pending, redis, typesOf } from "./support.js"

/** An answer as a test compares it: the value, or the refusal's tag (and state, if any). */
export const outcome = <A>(answer: Either.Either<A, Refusal>) =>
  Either.match(answer, {
    onRight: (value) => ({ ok: value }),
    onLeft: (refusal) => ({ refused: refusal._tag, ...("state" in refusal ? { state: refusal.state } : {}) }),
  })

export const inboxOf = (lane: Lane): Inbox => ({ partition: 0, actor, lane })

/** The entry ids of an inbox stream. */
export const entryIds = (where: Inbox = inbox) =>
  Effect.flatMap(inboxKey(where), (key) =>
    Effect.map(
      redis((c) => c.xrange(key, "-", "+")),
      (entries) => entries.map(([id]) => id),
    ),
  )

/** Who holds which entry of an inbox. */
export const holders = (where: Inbox = inbox) =>
  Effect.map(pending(where), (rows) => rows.map((row) => [row.entryId, row.consumer] as const))

/** How many `started` events a job has. */
export const startsOf = (jobId: string) =>
  Effect.map(typesOf(jobId), (types) => types.filter((t) => t === "started").length)

/** Creates the groups of all three lanes, as a worker does before it claims. */
export const ensureAllGroups = Effect.forEach(["high", "normal", "low"] as const, (lane) =>
  Deliveries.ensureGroup(0, actor, lane),
)
