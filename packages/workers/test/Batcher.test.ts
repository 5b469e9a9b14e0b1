/**
 * The batcher that gathers job fibers' starts and completions into one Redis call per inbox.
 * Pure Effect: what it does (grouping, answering each caller, failing and interrupting) does not
 * live in Redis, so these tests give it a recording `run` instead.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Scope } from "effect"
import * as Batcher from "../src/internal/Batcher.js"

interface Item {
  readonly group: string
  readonly n: number
}

/** A batcher whose `run` records each call and answers `n * 10`, or a refusal for negative `n`. */
const recording = (options: { readonly maxBatch?: number; readonly failGroup?: string } = {}) =>
  Effect.gen(function* () {
    const calls: Array<ReadonlyArray<Item>> = []
    const batcher = yield* Batcher.make({
      groupOf: (item: Item) => item.group,
      run: (items: ReadonlyArray<Item>) => {
        calls.push(items)
        return items[0]?.group === options.failGroup
          ? Effect.fail("redis down" as const)
          : Effect.succeed(
              items.map((item) => (item.n < 0 ? Either.left("refused" as const) : Either.right(item.n * 10))),
            )
      },
      maxBatch: options.maxBatch ?? 100,
    })
    return { batcher, calls }
  })

const ask = (batcher: Batcher.Batcher<Item, number, string>, items: ReadonlyArray<Item>) =>
  Effect.forEach(items, (item) => Effect.either(batcher.call(item)), { concurrency: "unbounded" })

describe("Batcher", () => {
  it.scoped("gathers items asked together into one call per group and answers each caller its own result", () =>
    Effect.gen(function* () {
      const { batcher, calls } = yield* recording()
      const items = [
        { group: "a", n: 1 },
        { group: "b", n: 2 },
        { group: "a", n: 3 },
        { group: "a", n: -1 },
        { group: "b", n: 4 },
      ]
      const answers = yield* ask(batcher, items)
      expect(answers).toEqual([
        Either.right(10),
        Either.right(20),
        Either.right(30),
        Either.left("refused"),
        Either.right(40),
      ])
      // One call per group, items in the order they were asked.
      expect(calls.map((call) => call.map((item) => `${item.group}${item.n}`)).sort()).toEqual([
        ["a1", "a3", "a-1"],
        ["b2", "b4"],
      ])
    }),
  )

  it.scoped("cuts batches at maxBatch", () =>
    Effect.gen(function* () {
      const { batcher, calls } = yield* recording({ maxBatch: 2 })
      const answers = yield* ask(
        batcher,
        Array.from({ length: 5 }, (_, n) => ({ group: "a", n })),
      )
      expect(answers).toEqual([0, 10, 20, 30, 40].map((n) => Either.right(n)))
      expect(calls.every((call) => call.length <= 2)).toBe(true)
      expect(calls.flat()).toHaveLength(5)
    }),
  )

  it.scoped("a failed call fails every item of its group, and only those", () =>
    Effect.gen(function* () {
      const { batcher } = yield* recording({ failGroup: "down" })
      const answers = yield* ask(batcher, [
        { group: "down", n: 1 },
        { group: "up", n: 2 },
        { group: "down", n: 3 },
      ])
      expect(answers).toEqual([Either.left("redis down"), Either.right(20), Either.left("redis down")])
    }),
  )

  it.live(
    "interrupts callers waiting when its scope closes, and callers that ask after, instead of leaving them hanging",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const entered = yield* Deferred.make<void>()
        const batcher = yield* Batcher.make({
          groupOf: (_: number) => "g",
          // A call that never answers: the scope closes while it is on the wire.
          run: (_: ReadonlyArray<number>) =>
            Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)) as Effect.Effect<
              ReadonlyArray<Either.Either<number, never>>
            >,
          maxBatch: 10,
        }).pipe(Scope.extend(scope))
        const waiting = yield* Effect.fork(batcher.call(1))
        yield* Deferred.await(entered)
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.await(waiting).pipe(Effect.timeout("2 seconds"))
        expect(Exit.isInterrupted(exit)).toBe(true)
        const late = yield* batcher.call(2).pipe(Effect.exit, Effect.timeout("2 seconds"))
        expect(Exit.isInterrupted(late)).toBe(true)
      }),
  )

  it.live("with two flushers, a batch gathers and goes while another is still on the wire; one flusher waits", () =>
    Effect.gen(function* () {
      const callsOnWire = (flushers: number) =>
        Effect.gen(function* () {
          const answer = yield* Deferred.make<void>()
          let onWire = 0
          let most = 0
          const batcher = yield* Batcher.make({
            groupOf: (_: number) => "g",
            // Each call stays on the wire until released: a second call can only start if a second flusher exists.
            run: (items: ReadonlyArray<number>) =>
              Effect.sync(() => {
                onWire++
                most = Math.max(most, onWire)
              }).pipe(
                Effect.zipRight(Deferred.await(answer)),
                Effect.map(() => {
                  onWire--
                  return items.map((n) => Either.right(n))
                }),
              ),
            maxBatch: 10,
            flushers,
          })
          const first = yield* Effect.fork(batcher.call(1))
          yield* Effect.sleep("20 millis")
          const second = yield* Effect.fork(batcher.call(2))
          yield* Effect.sleep("20 millis")
          const seen = most
          yield* Deferred.succeed(answer, undefined)
          expect(yield* Fiber.join(first)).toBe(1)
          expect(yield* Fiber.join(second)).toBe(2)
          return seen
        }).pipe(Effect.scoped)
      expect(yield* callsOnWire(2)).toBe(2)
      expect(yield* callsOnWire(1)).toBe(1)
    }),
  )
})
