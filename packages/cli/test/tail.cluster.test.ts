/**
 * `eddy tail` on the run's Redis Cluster: with 12 partitions over 3 masters, it follows every
 * master's logs at once (a tailing connection on each) and prints the events of every partition.
 */
import { Actor, Producer, RedisClient, StreamKeys } from "@eddy/core"
import { Effect, Schema } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as ClusterClients from "../../core/test/support/ClusterClients.js"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { eventually, killAll, linesOf, start } from "./support/Eddy.js"

afterEach(killAll)

const partitions = 12

const Noted = Actor.define("cluster-tail-noted", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Void })

/** A partition key that puts a job in partition `p` (of 12). */
const keyFor = (p: number): string => {
  for (let i = 0; ; i++) if (StreamKeys.stableHash(`k${i}`) % partitions === p) return `k${i}`
}

/** The names of the clients of each master of the run's cluster. */
const clientsOfMasters = () =>
  ClusterClients.perNode().then((nodes) => nodes.filter((node) => node.master).map((node) => node.names))

describe("eddy tail on a cluster", () => {
  it("prints the events of every partition, following every master at once", async () => {
    const prefix = TestRedis.uniquePrefix("cli-ctail")
    const tail = start(["tail", "--json"], {
      EDDY_REDIS_CLUSTER: TestRedis.clusterSeeds(),
      EDDY_PREFIX: prefix,
      EDDY_PARTITIONS: String(partitions),
    })
    // Following once every master has its tailing connection (named after its pid).
    await eventually("tail to read every master", async () => {
      const masters = await clientsOfMasters()
      return masters.length === 3 && masters.every((names) => names.some((name) => name.endsWith(`:${tail.pid}:tail`)))
        ? true
        : undefined
    })
    const submitted = await Effect.runPromise(
      Effect.gen(function* () {
        const redis = yield* RedisClient.RedisClient
        const producer = yield* Producer.Producer
        const jobs = yield* Effect.forEach(
          Array.from({ length: partitions }, (_, p) => p),
          (p) => producer.submit(Noted, { n: p }, { partitionKey: keyFor(p) }),
        )
        // The jobs are on every master.
        const masters = new Set(Array.from({ length: partitions }, (_, p) => redis.nodeOf(`${prefix}:{p${p}}:events`)))
        expect(masters.size).toBe(3)
        return jobs.map(({ jobId }) => jobId)
      }).pipe(
        Effect.provide(Producer.layer),
        Effect.provide(TestRedis.layer()),
        Effect.provide(TestRedis.settings({ prefix, partitions })),
        Effect.scoped,
      ),
    )
    await tail.waitFor(
      "a submitted line for every job",
      (out) => submitted.every((jobId) => out.includes(`"jobId":"${jobId}"`)),
      { timeoutMs: 20_000 },
    )
    const result = await tail.stop("SIGINT")
    expect(result.code).toBe(0)
    const events = linesOf(result.stdout).map((line) => JSON.parse(line) as { type: string; jobId: string })
    expect(new Set(events.filter((event) => event.type === "submitted").map((event) => event.jobId))).toEqual(
      new Set(submitted),
    )
  })
})
