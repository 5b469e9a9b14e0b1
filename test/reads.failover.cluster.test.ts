/**
 * The per-node reads follow a failover: after the master holding some of a worker's partitions
 * is killed and its replica promoted, an idle worker and a producer's tailer, left running, read
 * the promoted master by themselves (`nodeOf` is asked every round): jobs submitted to every
 * partition afterwards run from the reads (none waits for the reclaimer) and their results
 * arrive. The cluster is this test's own (it kills a node).
 */
import { Actor, EddyConfig, EventTailer, Producer, RedisClient, Settings, StreamKeys } from "@eddy/core"
import * as Worker from "@eddy/workers/Worker"
import { Effect, Either, Exit, Layer, Logger, LogLevel, Schema, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TestCluster from "./support/TestCluster.js"

const partitions = 12
let cluster: Awaited<ReturnType<typeof TestCluster.startAsync>>

beforeAll(async () => {
  cluster = await TestCluster.startAsync({ nodeTimeout: "1 second" })
}, 60_000)
afterAll(() => cluster?.stop())

const Echo = Actor.define("failover-reads", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})

/** A partition key that puts a job in partition `p` (of 12). */
const keyFor = (p: number): string => {
  for (let i = 0; ; i++) if (StreamKeys.stableHash(`k${i}`) % partitions === p) return `k${i}`
}

describe("reads on a cluster whose master fails over", () => {
  it("an idle worker and a tailer read the promoted master: jobs on every partition run and answer", async () => {
    const target = Either.getOrThrow(EddyConfig.parseCluster(cluster.seedList))
    const base = (name: string) =>
      Layer.merge(
        RedisClient.layer({ cluster: target, timeout: "1 second", name }),
        Settings.layer({ prefix: "fr", partitions }),
      )
    const producerLayer = Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base("fr-producer"))
    const scope = Effect.runSync(Scope.make())
    const quiet = Logger.minimumLogLevel(LogLevel.None)
    try {
      await Effect.runPromise(
        Effect.gen(function* () {
          const context = yield* Layer.build(base("fr-worker"))
          yield* Worker.make({ handlers: [Worker.handle(Echo, Effect.succeed)], concurrency: 8 }).pipe(
            Effect.provide(context),
          )
        }).pipe(Scope.extend(scope), Effect.provide(quiet)),
      )
      const producer = await Effect.runPromise(
        Effect.map(Layer.build(producerLayer), (context) => context).pipe(Scope.extend(scope), Effect.provide(quiet)),
      )
      const roundOfJobs = (from: number) =>
        Effect.gen(function* () {
          const client = yield* Producer.Producer
          const jobs = yield* Effect.forEach(
            Array.from({ length: partitions }, (_, p) => p),
            (p) => client.submit(Echo, { n: from + p }, { partitionKey: keyFor(p) }),
          )
          return yield* Effect.forEach(jobs, ({ jobId }) => client.resultOf(Echo, jobId, { timeout: "30 seconds" }))
        }).pipe(Effect.provide(producer))
      const expected = (from: number) => Array.from({ length: partitions }, (_, p) => ({ n: from + p }))

      expect(await Effect.runPromise(roundOfJobs(0))).toEqual(expected(0))
      const redis = await Effect.runPromise(Effect.provide(RedisClient.RedisClient, producer))
      const p0 = "fr:{p0}:events"
      const victim = cluster.nodes.find((node) => `127.0.0.1:${node.port}` === redis.nodeOf(p0))
      const heir = cluster.nodes.find((node) => node.masterId === victim?.id)
      if (victim === undefined || heir === undefined) throw new Error(`no master with a replica for ${p0}`)
      cluster.kill(victim.port)
      await cluster.waitHealthy("30 seconds")

      // Nothing is restarted: the worker and the tailer find the promoted master themselves.
      const started = Date.now()
      expect(await Effect.runPromise(roundOfJobs(100))).toEqual(expected(100))
      console.log(`after the failover, 12 jobs over every partition answered in ${Date.now() - started} ms`)
      expect(redis.nodeOf(p0)).toBe(`127.0.0.1:${heir.port}`)
      // Every job ran from a read, none from the reclaimer: a delivery read from one master while
      // another failed was not dropped (it would have waited out its lease, then been `stalled`).
      const types = await Effect.runPromise(
        Effect.forEach(
          Array.from({ length: partitions }, (_, p) => `fr:{p${p}}:events`),
          (log) => redis.run((c) => c.xrange(log, "-", "+")),
        ),
      )
      const stalled = types.flat().filter(([, fields]) => fields[fields.indexOf("type") + 1] === "stalled")
      expect(stalled).toEqual([])
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 90_000)
})
