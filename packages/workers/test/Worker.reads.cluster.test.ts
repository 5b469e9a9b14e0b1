/**
 * The worker's reads on the run's Redis Cluster (3 masters, 3 replicas), over 12 partitions so
 * that every master holds some: jobs submitted to every partition run and their results reach
 * the producer through the tailer; an idle worker starts a job on a partition it is not blocked
 * on within the rotation's slice bound; a stop ends the reads on every master at once; a worker
 * process reads every master on one connection each, its command connection being the other, and
 * a producer waiting for results tails every master on one connection each.
 */
import { Actor, EventTailer, Producer, RedisClient, Settings, StreamKeys } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as ClusterClients from "../../core/test/support/ClusterClients.js"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import { Many } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

const partitions = 12

const EchoA = Actor.define("cluster-reads-a", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})
const EchoB = Actor.define("cluster-reads-b", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})

/** Rate-limited: its inboxes are read without blocking, one XREADGROUP per partition on a cluster. */
const Limited = Actor.define("cluster-reads-limited", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { rateLimit: { limit: 1_000, per: "1 second" } },
})

/** A partition key that puts a job in partition `p` (of 12). */
const keyFor = (p: number): string => {
  for (let i = 0; ; i++) if (StreamKeys.stableHash(`k${i}`) % partitions === p) return `k${i}`
}

/** Redis (named `name` in `CLIENT LIST` when given) and 12 partitions under `prefix`. */
const base = (prefix: string, name?: string) =>
  Layer.merge(TestRedis.layer(name === undefined ? {} : { name }), TestRedis.settings({ prefix, partitions }))

/** A producer with its tailer, on connections of its own. */
const client = (prefix: string, name?: string) =>
  Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base(prefix, name))

/** A worker on connections of its own (named `name`), in a scope the test closes. */
const workerIn = (scope: Scope.Scope, prefix: string, name: string, options: Worker.Options) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(base(prefix, name))
    return yield* Worker.make(options).pipe(Effect.provide(context))
  }).pipe(Scope.extend(scope), Effect.provide(H.quiet))

/** Every node of the run's cluster, its role now, and the names of its clients. */
const clientsPerNode = Effect.promise(() =>
  ClusterClients.perNode().then((nodes) =>
    nodes.map((node) => ({ ...node, role: node.master ? ("master" as const) : ("replica" as const) })),
  ),
)

describe("worker reads on a cluster", () => {
  it.scopedLive(
    "a worker over 12 partitions runs jobs of every partition, rate-limited too; results come through the tailer",
    () => {
      const prefix = TestRedis.uniquePrefix("crw")
      const producerName = `crp-${prefix}`
      return Effect.gen(function* () {
        const redis = yield* RedisClient.RedisClient
        const { keyspace } = yield* Settings.Settings
        yield* redis.health
        // Every master holds some of the partitions.
        expect(new Set(keyspace.all.map((p) => redis.nodeOf(p.events))).size).toBe(3)
        const scope = yield* Effect.scope
        yield* workerIn(scope, prefix, `crw-${prefix}`, {
          handlers: [
            Worker.handle(EchoA, (input) => Effect.succeed(input)),
            Worker.handle(EchoB, Effect.succeed),
            Worker.handle(Limited, Effect.succeed),
          ],
          concurrency: 8,
        })
        const producer = yield* Producer.Producer
        const jobs = yield* Effect.forEach(
          Array.from({ length: partitions }, (_, p) => p),
          (p) =>
            Effect.all([
              producer.submit(EchoA, { n: p }, { partitionKey: keyFor(p) }),
              producer.submit(EchoB, { n: 100 + p }, { partitionKey: keyFor(p) }),
              producer.submit(Limited, { n: 200 + p }, { partitionKey: keyFor(p) }),
            ]),
        )
        const outputs = yield* Effect.forEach(jobs, ([a, b, c]) =>
          Effect.all([
            producer.resultOf(EchoA, a.jobId, { timeout: "20 seconds" }),
            producer.resultOf(EchoB, b.jobId, { timeout: "20 seconds" }),
            producer.resultOf(Limited, c.jobId, { timeout: "20 seconds" }),
          ]),
        )
        expect(outputs).toEqual(
          Array.from({ length: partitions }, (_, p) => [{ n: p }, { n: 100 + p }, { n: 200 + p }]),
        )
        // The producer waited on one tailing connection per master, beside its command connection.
        for (const node of yield* clientsPerNode) {
          const own = node.names.filter((n) => n.startsWith(`${producerName}:`)).sort()
          expect(own, `${node.role} ${node.port}`).toEqual(
            node.role === "master" ? [`${producerName}:cmd`, `${producerName}:tail`] : [],
          )
        }
      }).pipe(Effect.provide(client(prefix, producerName)))
    },
  )

  it.scopedLive("an idle worker starts a job on any partition within the slice bound", () => {
    const prefix = TestRedis.uniquePrefix("cri")
    return Effect.gen(function* () {
      const started = new Map<number, number>()
      const scope = yield* Effect.scope
      yield* workerIn(scope, prefix, `cri-${prefix}`, {
        handlers: [
          Worker.handle(EchoA, (input) =>
            Effect.sync(() => {
              started.set(input.n, Date.now())
              return input
            }),
          ),
        ],
        concurrency: 4,
        blockFor: "5 seconds",
      })
      const producer = yield* Producer.Producer
      // The worker's first round claims; from then on it is idle, rotating.
      yield* Effect.sleep("500 millis")
      const waits: Array<number> = []
      for (let p = 0; p < partitions; p++) {
        // Most of an idle round is its blocking read: each node is then blocked on one of its
        // partitions, most often another than the job's.
        yield* Effect.sleep("120 millis")
        const sent = Date.now()
        const { jobId } = yield* producer.submit(EchoA, { n: p }, { partitionKey: keyFor(p) })
        yield* producer.resultOf(EchoA, jobId, { timeout: "10 seconds" })
        waits.push((started.get(p) ?? Number.POSITIVE_INFINITY) - sent)
      }
      console.log(`submit to start on an idle cluster worker, per partition (ms): ${waits.join(", ")}`)
      // The bound is the slice (50 ms, which Redis rounds up to its timer tick) plus round trips:
      // a second is generous on a loaded machine, and far below the worker's 5 s block time.
      for (const wait of waits) expect(wait).toBeLessThan(1_000)
    }).pipe(Effect.provide(client(prefix)))
  })

  it.scopedLive("a stop ends the reads on every master at once", () => {
    const prefix = TestRedis.uniquePrefix("crs")
    const name = `crs-${prefix}`
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      yield* workerIn(scope, prefix, name, {
        handlers: [Worker.handle(EchoA, Effect.succeed)],
        blockFor: "10 seconds",
        shutdownGrace: "5 seconds",
      })
      // Every master gets the worker's blocking reads, at once.
      const reading = new Set<number>()
      yield* Effect.gen(function* () {
        for (const node of yield* clientsPerNode)
          if (node.commands.some((client) => client.name === `${name}:block` && client.cmd === "xreadgroup"))
            reading.add(node.port)
      }).pipe(
        Effect.zipRight(Effect.sleep("20 millis")),
        Effect.repeat({ until: () => reading.size >= 3 }),
        Effect.timeout("10 seconds"),
      )
      const masters = (yield* clientsPerNode).filter((node) => node.role === "master").map((node) => node.port)
      expect([...reading].sort()).toEqual([...masters].sort())
      const stopping = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - stopping
      console.log(`stop of an idle cluster worker: ${took} ms`)
      // Neither the read's 10 s nor the 5 s grace: nothing runs, and every node's read ends at once.
      expect(took).toBeLessThan(2_000)
      // Its connections are gone from every node.
      for (const node of yield* clientsPerNode) expect(node.names.filter((n) => n.startsWith(`${name}:`))).toEqual([])
    })
  })
  it.scopedLive(
    "a worker process of 11 actors reads every master on one connection each, besides its command connection",
    () => {
      const prefix = TestRedis.uniquePrefix("crc")
      return Effect.gen(function* () {
        const worker = yield* WorkerProcess.start({
          module: WorkerProcess.fixture("many-worker.ts"),
          redisUrl: TestRedis.url(),
          prefix,
          env: { EDDY_PARTITIONS: String(partitions) },
        })
        const own = (names: ReadonlyArray<string>) =>
          names.filter((name) => name.includes(`:${worker.pid}:`)).map((name) => name.split(":").pop())
        /** Per node: its role and the connections of the worker on it (`cmd`, `block`, …). */
        const sample = Effect.map(clientsPerNode, (nodes) =>
          nodes.map((node) => ({ ...node, own: own(node.names).sort() })),
        )
        // Idle: each master has the worker's command connection and its reads of that master.
        const idle = yield* H.eventually(
          "the worker to read every master",
          Effect.map(sample, (nodes) =>
            nodes.every((node) => node.role === "replica" || node.own.includes("block"))
              ? Option.some(nodes)
              : Option.none(),
          ),
          "10 seconds",
          "50 millis",
        )
        // Working: 11 actors' jobs over 12 partitions; sampled while they run.
        const producer = yield* Producer.Producer
        const jobs = (yield* Effect.forEach(Many, (contract) =>
          producer.submitMany(
            contract,
            Array.from({ length: 12 }, (_, i) => ({ input: { i } })),
          ),
        )).flat()
        const working = [idle]
        for (let i = 0; i < 5; i++) {
          yield* Effect.sleep("200 millis")
          working.push(yield* sample)
        }
        for (const nodes of working)
          for (const node of nodes) {
            if (node.role === "replica") expect(node.own, `replica ${node.port}`).toEqual([])
            else {
              expect(node.own.length, `master ${node.port}`).toBeLessThanOrEqual(2)
              for (const role of node.own) expect(["block", "cmd"]).toContain(role)
            }
          }
        expect(idle.filter((node) => node.role === "master").map((node) => node.own)).toEqual([
          ["block", "cmd"],
          ["block", "cmd"],
          ["block", "cmd"],
        ])
        yield* Effect.forEach(jobs, ({ jobId }) => producer.result(jobId, { timeout: "30 seconds" }), {
          discard: true,
        })
        worker.kill("SIGTERM")
        expect((yield* worker.exited).code).toBe(0)
        expect(worker.logs().filter((line) => JSON.stringify(line).includes("CROSSSLOT"))).toEqual([])
      }).pipe(Effect.provide(client(prefix)))
    },
    60_000,
  )
})
