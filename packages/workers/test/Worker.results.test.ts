/**
 * A result whose recording timed out on the way back but went through: the worker's retry finds
 * the job finished by itself. That is no rejection: not warned about, counted apart.
 */
import { Actor, EventTailer, Producer, RedisClient, Scripts } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import * as WorkerMetrics from "../src/WorkerMetrics.js"

const Timely = Actor.define("results-timely", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})

/** The run's RedisClient; the first completion goes through, but its answer is lost as in a Redis hang. */
const losingFirstAnswer = Layer.effect(
  RedisClient.RedisClient,
  Effect.map(RedisClient.make(TestRedis.target()), (real) => {
    let lost = false
    return {
      ...real,
      run: (command) =>
        real.run((redis) =>
          command(
            new Proxy(redis, {
              get: (target, property) => {
                const value: unknown = Reflect.get(target, property)
                if (property !== "fcall" || typeof value !== "function") return value
                return async (name: unknown, ...rest: Array<unknown>) => {
                  const answer = await value.call(target, name, ...rest)
                  const completes = name === Scripts.library.functionName(Scripts.completeMany.name)
                  if (!completes || lost) return answer
                  lost = true
                  throw new Error("Command timed out")
                }
              },
            }),
          ),
        ),
    } satisfies RedisClient.RedisClientService
  }),
).pipe(Layer.provide(Layer.scope))

const count = (metric: Metric.Metric.Counter<number>) =>
  Metric.value(WorkerMetrics.forActor(metric, Timely.name)).pipe(Effect.map((state) => state.count))

describe("worker results", () => {
  it.live("a result its own timed-out call applied already is counted apart, not as rejected", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      yield* Worker.make({
        handlers: [Worker.handle(Timely, (input) => Effect.succeed(input))],
        blockFor: "200 millis",
      })
      const { jobId } = yield* producer.submit(Timely, { n: 1 })
      expect(yield* producer.resultOf(Timely, jobId, { timeout: "5 seconds" })).toEqual({ n: 1 })
      yield* Effect.sleep("100 millis").pipe(Effect.repeat({ until: () => false, times: 20 }), Effect.ignore)
      expect(yield* count(WorkerMetrics.alreadyApplied)).toBe(1)
      expect(yield* count(WorkerMetrics.rejected)).toBe(0)
      expect((yield* producer.status(jobId)).attempt).toBe(1)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.provideMerge(
          Layer.merge(Producer.layer, EventTailer.layer),
          Layer.merge(losingFirstAnswer, TestRedis.settings({ prefix: TestRedis.uniquePrefix() })),
        ),
      ),
    ),
  )
})
