/**
 * A master of a Redis Cluster dies under load (SIGKILL), its replica is promoted, and eddy carries
 * on by itself: two workers running jobs over 12 partitions (every master holds some), a gateway
 * taking submissions over HTTP, and two SDK producers submitting continuously, one plain and one
 * with `EDDY_SUBMIT_REPLICAS=1`. Nothing is restarted. Once the cluster is healthy again:
 * - no job has two terminal events in the log;
 * - no job is stranded: every job record reaches a terminal state within a lease and a bound;
 * - every submission the durable producer had acknowledged exists and finished;
 * - what the plain producer and the gateway had acknowledged and the failover lost is counted and
 *   reported, not asserted (Redis replicates asynchronously: a write the dead master acknowledged
 *   but had not yet sent to its replica is gone; on a quiet loopback that is often nothing).
 *
 * Each component has connections of its own, as separate processes would. The cluster is this
 * test's own (it kills a node), with a 1 s `cluster-node-timeout` so that the promotion is quick.
 */
import { Actor, EddyConfig, EventTailer, JobEvent, JobStatus, Producer, RedisClient, Settings } from "@eddy/core"
import { Auth, Gateway } from "@eddy/gateway"
import { Worker } from "@eddy/workers"
import { Cause, type Context, Effect, Either, Exit, Layer, Logger, LogLevel, Schema, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "../packages/core/test/support/FreePort.js"
import * as TestCluster from "./support/TestCluster.js"

let cluster: Awaited<ReturnType<typeof TestCluster.startAsync>>

beforeAll(async () => {
  cluster = await TestCluster.startAsync({ nodeTimeout: "1 second" })
}, 60_000)
afterAll(() => cluster?.stop())

const partitions = 12
const leaseMs = 2_000

const Work = Actor.define("failover-work", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { lease: `${leaseMs} millis`, attempts: 5, backoff: Actor.fixed("100 millis") },
})
const work = Worker.handle(Work, ({ n }) => Effect.as(Effect.sleep("5 millis"), { n }))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const quiet = Logger.minimumLogLevel(LogLevel.Error)

/** One component's Redis (its own connections), settings and producer. */
const component = (prefix: string, name: string, submitReplicas = 0) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer({
        cluster: Either.getOrThrow(EddyConfig.parseCluster(cluster.seedList)),
        timeout: "1 second",
        name,
      }),
      Settings.layer({ prefix, partitions, submitReplicas }),
    ),
  )

type Services = Producer.Producer | RedisClient.RedisClient | Settings.Settings

/** What one submitting loop saw: the jobs acknowledged (with when), and its failures by tag. */
interface Tally {
  readonly acked: Array<{ readonly jobId: string; readonly at: number }>
  readonly failures: Map<string, number>
}

const tally = (): Tally => ({ acked: [], failures: new Map() })
const fail = (t: Tally, tag: string) => t.failures.set(tag, (t.failures.get(tag) ?? 0) + 1)
/** The tag of a failed exit's error (or what else ended it). */
const tagOf = (cause: Cause.Cause<{ readonly _tag: string }>) =>
  Cause.failureOption(cause).pipe((failure) => (failure._tag === "Some" ? failure.value._tag : "defect"))

describe("eddy through a master's failover", () => {
  it("carries on by itself; no job ends twice or is stranded; durable submissions are all kept", async () => {
    const prefix = `failover-${Date.now()}`
    const scope = Effect.runSync(Scope.make())
    const build = <A, E>(layer: Layer.Layer<A, E>) =>
      Effect.runPromise(Layer.buildWithScope(Layer.provide(layer, quiet), scope))
    const runIn =
      <R extends Services>(context: Context.Context<R>) =>
      <A, E>(effect: Effect.Effect<A, E, R>) =>
        Effect.runPromiseExit(effect.pipe(Effect.provide(context), Effect.provide(quiet)))
    let running = true
    try {
      // Two workers, each a process of its own.
      for (const name of ["worker-a", "worker-b"]) {
        const context = await build(component(prefix, name))
        await Effect.runPromise(
          Worker.make({ handlers: [work], concurrency: 20, blockFor: "200 millis" }).pipe(
            Effect.provide(context),
            Effect.provide(quiet),
            Scope.extend(scope),
          ),
        )
      }
      // The gateway, open (no keys: it listens on 127.0.0.1).
      const port = await freePort()
      const gatewayContext = await build(
        Gateway.layer([Work], { host: "127.0.0.1", port, maxRequestBytes: 1024 * 1024 }).pipe(
          Layer.provide(Layer.succeed(Auth.ApiKeys, { keys: [], perSecond: 100_000 })),
          Layer.provideMerge(component(prefix, "gateway")),
        ),
      )
      const gatewayUrl = `http://127.0.0.1:${port}/v1/actors/${Work.name}/jobs`
      const plain = runIn(await build(component(prefix, "producer-plain")))
      const durable = runIn(await build(component(prefix, "producer-durable", 1)))

      // The submitting loops: the plain producer in batches, the durable one job by job (a batch
      // that touches the shard left without a replica fails whole), the gateway over HTTP.
      const tallies = { plain: tally(), durable: tally(), gateway: tally() }
      let n = 0
      const loop = async (step: () => Promise<void>) => {
        while (running) {
          await step()
          await sleep(25)
        }
      }
      const loops = [
        loop(async () => {
          const exit = await plain(
            Effect.flatMap(Producer.Producer, (p) =>
              p.submitMany(
                Work,
                Array.from({ length: 20 }, () => ({ input: { n: n++ } })),
              ),
            ),
          )
          if (Exit.isSuccess(exit))
            for (const job of exit.value) tallies.plain.acked.push({ jobId: job.jobId, at: Date.now() })
          else fail(tallies.plain, tagOf(exit.cause))
        }),
        loop(async () => {
          const exit = await durable(Effect.flatMap(Producer.Producer, (p) => p.submit(Work, { n: n++ })))
          if (Exit.isSuccess(exit)) tallies.durable.acked.push({ jobId: exit.value.jobId, at: Date.now() })
          else fail(tallies.durable, tagOf(exit.cause))
        }),
        loop(async () => {
          const answer = await fetch(gatewayUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ input: { n: n++ } }),
            signal: AbortSignal.timeout(5_000),
          }).then(
            async (response) => ({ status: response.status, body: (await response.json()) as { jobId?: string } }),
            () => ({ status: 0, body: {} as { jobId?: string } }),
          )
          if (answer.status === 202 && answer.body.jobId !== undefined)
            tallies.gateway.acked.push({ jobId: answer.body.jobId, at: Date.now() })
          else fail(tallies.gateway, String(answer.status))
        }),
      ]

      await sleep(3_000)
      // The victim: the master of p0's slot (p0, p1, p4, p5, p8 and p9 live there).
      const { keyspace } = Settings.make({ prefix, partitions })
      const owner = await Effect.runPromise(
        Effect.map(RedisClient.RedisClient, (redis) => redis.nodeOf(keyspace.partition(0).jobs)).pipe(
          Effect.provide(gatewayContext),
        ),
      )
      const victim = cluster.nodes.find((node) => `127.0.0.1:${node.port}` === owner)
      const heir = cluster.nodes.find((node) => node.masterId === victim?.id)
      if (victim === undefined || heir === undefined) throw new Error(`no master with a replica at ${owner}`)
      const killedAt = Date.now()
      cluster.kill(victim.port)
      let promotedAt = 0
      while (promotedAt === 0 && Date.now() - killedAt < 30_000) {
        const roles = await cluster.roles().catch(() => [])
        if (roles.some((node) => node.port === heir.port && node.role === "master")) promotedAt = Date.now()
        else await sleep(100)
      }
      expect(promotedAt, "the replica was promoted").toBeGreaterThan(0)
      // Load goes on for a while on the new topology, then stops: at least 4 s, and until every
      // producer was acknowledged after it (up to 15 s). Half the durable producer's partitions are
      // on the shard left without a replica, where each submission waits out its 1 s replica
      // timeout, so a few seconds could pass with no acknowledgement by chance.
      const carriedOn = () => Object.values(tallies).every((t) => t.acked.some((job) => job.at > promotedAt + 1_000))
      await sleep(4_000)
      while (!carriedOn() && Date.now() - promotedAt < 15_000) await sleep(200)
      running = false
      await Promise.all(loops)
      await cluster.waitHealthy("30 seconds")

      // Every job record reaches a terminal state: nothing is stranded.
      const admin = runIn(gatewayContext)
      const records = async () => {
        const exit = await admin(
          Effect.flatMap(RedisClient.RedisClient, (redis) =>
            Effect.forEach(keyspace.all, (p) => redis.run((c) => c.hgetallBuffer(p.jobs)), {
              concurrency: "unbounded",
            }),
          ),
        )
        if (Exit.isFailure(exit)) throw new Error(`reading the job records failed: ${String(exit.cause)}`)
        const states = new Map<string, JobStatus.State>()
        for (const hash of exit.value)
          for (const [jobId, raw] of Object.entries(hash)) {
            const status = JobStatus.fromRecord(jobId, raw)
            if (status._tag === "Some") states.set(jobId, status.value.state)
          }
        return states
      }
      const deadline = Date.now() + leaseMs + 20_000
      let states = await records()
      while ([...states.values()].some((state) => !JobStatus.isFinished(state)) && Date.now() < deadline) {
        await sleep(250)
        states = await records()
      }
      const stranded = [...states].filter(([, state]) => !JobStatus.isFinished(state))
      expect(
        stranded.length,
        `${stranded.length} of ${states.size} jobs without an end, e.g. ${JSON.stringify(stranded.slice(0, 3))}`,
      ).toBe(0)

      // No job has two terminal events in the log.
      const logExit = await admin(
        Effect.flatMap(RedisClient.RedisClient, (redis) =>
          Effect.forEach(keyspace.all, (p) => redis.run((c) => c.xrange(p.events, "-", "+")), {
            concurrency: "unbounded",
          }),
        ),
      )
      if (Exit.isFailure(logExit)) throw new Error(`reading the log failed: ${String(logExit.cause)}`)
      const terminals = new Map<string, number>()
      for (const entries of logExit.value)
        for (const [id, fields] of entries) {
          const event = JobEvent.fromEntry(id, fields)
          if (event._tag === "Some" && JobEvent.isTerminal(event.value))
            terminals.set(event.value.jobId, (terminals.get(event.value.jobId) ?? 0) + 1)
        }
      expect([...terminals].filter(([, count]) => count > 1)).toEqual([])

      // Every durable acknowledgement is kept, and its job finished.
      const missing = (t: Tally) => t.acked.filter((job) => !states.has(job.jobId))
      expect(missing(tallies.durable)).toEqual([])
      expect(tallies.durable.acked.every((job) => JobStatus.isFinished(states.get(job.jobId) ?? "queued"))).toBe(true)
      // The durable producer failed only typed, as documented: unreachable, or not replicated.
      expect(
        [...tallies.durable.failures.keys()].filter(
          (tag) => tag !== "RedisUnavailable" && tag !== "SubmitNotReplicated",
        ),
      ).toEqual([])

      // Everyone carried on after the promotion, without a restart.
      for (const [name, t] of Object.entries(tallies))
        expect(
          t.acked.filter((job) => job.at > promotedAt + 1_000).length,
          `${name} after the failover`,
        ).toBeGreaterThan(0)

      // What the failover lost of the plain acknowledgements: reported.
      const report = Object.entries(tallies).map(
        ([name, t]) =>
          `${name}: ${t.acked.length} acknowledged, ${missing(t).length} lost, failures ${JSON.stringify(Object.fromEntries(t.failures))}`,
      )
      console.info(
        `failover report: promoted ${promotedAt - killedAt} ms after the kill; ${states.size} jobs, all finished; ${report.join("; ")}`,
      )
    } finally {
      running = false
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 120_000)
})
