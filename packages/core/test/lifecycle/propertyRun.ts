/**
 * Runs a lifecycle-property scenario on the test's Redis: each `Op` becomes its real call, as the
 * simulated worker or operator would make it. Typed refusals are expected and ignored; a fenced
 * call that is applied must come from the consumer that held the entry just before.
 */

import { expect } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import type { RedisClient } from "../../src/RedisClient.js"
import type * as Settings from "../../src/Settings.js"
import * as StreamKeys from "../../src/StreamKeys.js"
import { consumers, type Op } from "./propertyOps.js"
import { actor, failure, inbox, pending, read, record, submit } from "./support.js"

const refusals = new Set(["LeaseLost", "JobNotFound", "JobAlreadyFinished", "CancelRequested", "JobNotInState"])

/** Runs a call, turning a typed refusal into its tag; anything else fails the run. */
const attempt = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.map((value) => ({ ok: true as const, value })),
    Effect.catchIf(
      (error) => refusals.has(error._tag),
      (error) => Effect.succeed({ ok: false as const, refusal: error._tag }),
    ),
  )

/** The consumer that holds an inbox entry, if any. */
const holderOf = (entryId: string) =>
  Effect.map(pending(), (rows) => rows.find((row) => row.entryId === entryId)?.consumer)

/**
 * Runs the steps in order and answers the ids of the jobs submitted. With `operator`, an id may be
 * freed again (purge, expire), so a resubmission need not be a duplicate.
 */
export const run = (ops: ReadonlyArray<Op>, operator = false) =>
  Effect.gen(function* () {
    const held = consumers.map(() => [] as Array<Deliveries.Delivery>)
    const submitted = new Set<string>()
    const heldBy = (c: number) => held[c] as Array<Deliveries.Delivery>
    const choose = (c: number, n: number) => {
      const list = heldBy(c)
      return list.length === 0 ? undefined : list[n % list.length]
    }
    const drop = (c: number, delivery: Deliveries.Delivery) => {
      const list = heldBy(c)
      list.splice(list.indexOf(delivery), 1)
    }
    /** A fenced call: when it is applied, the caller held the entry just before. */
    const fencedCall = <A, E extends { readonly _tag: string }>(
      c: number,
      n: number,
      call: (delivery: Deliveries.Delivery, name: string) => Effect.Effect<A, E, RedisClient | Settings.Settings>,
      keep: (outcome: { ok: boolean; refusal?: string }) => boolean,
    ) =>
      Effect.gen(function* () {
        const delivery = choose(c, n)
        if (delivery === undefined) return
        const name = consumers[c] as string
        const holder = yield* holderOf(delivery.entryId)
        const outcome = yield* attempt(call(delivery, name))
        if (outcome.ok) expect(holder).toBe(name)
        if (!outcome.ok && outcome.refusal === "LeaseLost") expect(holder).not.toBe(name)
        if (!keep(outcome)) drop(c, delivery)
      })
    // As a worker does before it reads or reclaims.
    for (const each of StreamKeys.lanes) yield* Deliveries.ensureGroup(inbox.partition, actor, each)
    const keepRunning = (o: { ok: boolean; refusal?: string }) => o.ok || o.refusal === "CancelRequested"
    const never = () => false

    for (const step of ops) {
      switch (step.op) {
        case "submit": {
          const id = `j${step.job}`
          const before = yield* record(id)
          const result = yield* submit(id, { delayMs: step.delayMs, maxAttempts: step.maxAttempts })
          // (An operator's purge or expire frees an id again.)
          if (!operator) expect(result.duplicate).toBe(submitted.has(id))
          if (before !== undefined) expect(result.state).toBe(before.s)
          submitted.add(id)
          break
        }
        case "read":
          heldBy(step.consumer).push(...(yield* read(consumers[step.consumer] as string, { count: step.count })))
          break
        case "take": {
          // XREADGROUP one delivery and start it at once, as a worker does.
          const [delivery] = yield* read(consumers[step.consumer] as string, { count: 1 })
          if (delivery === undefined) break
          heldBy(step.consumer).push(delivery)
          yield* fencedCall(step.consumer, heldBy(step.consumer).length - 1, Deliveries.start, keepRunning)
          break
        }
        case "start":
          yield* fencedCall(step.consumer, step.pick, Deliveries.start, keepRunning)
          break
        case "progress":
          yield* fencedCall(step.consumer, step.pick, (d, c) => Deliveries.progress(d, c, 0.5), keepRunning)
          break
        case "complete":
          // One job alone, or as a batch of one (which buffers its read-model writes).
          yield* fencedCall(
            step.consumer,
            step.pick,
            step.pick % 2 === 0
              ? (d, c) => Deliveries.complete(d, c, '"done"')
              : (d, c) =>
                  Deliveries.completeMany([{ delivery: d, output: '"done"' }], c).pipe(
                    Effect.flatMap((outcomes) => outcomes[0] as Either.Either<void, { readonly _tag: string }>),
                  ),
            never,
          )
          break
        case "release":
          yield* fencedCall(step.consumer, step.pick, Deliveries.release, never)
          break
        case "confirmCancel":
          yield* fencedCall(step.consumer, step.pick, Deliveries.confirmCancel, (o) => o.refusal === "JobNotInState")
          break
        case "fail":
          yield* fencedCall(
            step.consumer,
            step.pick,
            (d, c) =>
              Deliveries.fail(d, c, failure("boom", { retryable: step.retryable, retryDelayMs: step.retryDelayMs })),
            never,
          )
          break
        case "renew": {
          const list = heldBy(step.consumer)
          const outcomes = yield* Deliveries.renew(list, consumers[step.consumer] as string)
          expect(outcomes).toHaveLength(list.length)
          const rows = yield* pending()
          outcomes.forEach((outcome, i) => {
            const delivery = list[i] as Deliveries.Delivery
            const holder = rows.find((row) => row.entryId === delivery.entryId)?.consumer
            if (outcome !== "lost") expect(holder).toBe(consumers[step.consumer])
          })
          break
        }
        case "reclaim": {
          const result = yield* Deliveries.reclaim(inbox, consumers[step.consumer] as string, {
            minIdle: Duration.zero,
            count: step.count,
            maxDeliveries: step.maxDeliveries,
          })
          expect(result.deliveries.length + result.deadLettered + result.cancelled).toBeLessThanOrEqual(step.count)
          expect(result.deleted).toBe(0)
          heldBy(step.consumer).push(...result.deliveries)
          break
        }
        case "promote":
          yield* Deliveries.promote(inbox)
          break
        case "cancel":
          yield* attempt(JobStore.cancel(`j${step.job}`))
          break
        case "sleep":
          yield* Effect.sleep(Duration.millis(step.ms))
          break
        case "claim": {
          const name = consumers[step.consumer] as string
          const claimed = yield* Deliveries.claim(inbox.partition, actor, name, step.count)
          for (const { delivery, started } of claimed)
            if (started !== undefined && (Either.isRight(started) || started.left._tag === "CancelRequested"))
              heldBy(step.consumer).push(delivery)
          break
        }
        case "requeue":
          yield* attempt(JobStore.requeue(`j${step.job}`))
          break
        case "purge":
          yield* attempt(JobStore.purge(`j${step.job}`))
          break
        case "expire":
          yield* JobStore.expire()
          break
      }
    }
    return submitted as ReadonlySet<string>
  })
