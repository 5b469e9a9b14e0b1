/**
 * The connection budget on a Redis Cluster: a real worker process hosting eleven actors over 12
 * partitions (so every master holds some of its inboxes) holds at most two connections per master
 * (command + reads), named for it, and none on any replica, while it works.
 */
import { EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as ClusterClients from "../../core/test/support/ClusterClients.js"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Many } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

const partitions = 12

/** Per node: its role, and the names of the connections of process `pid` on it. */
const connectionsOn = (pid: number) =>
  Effect.promise(() =>
    ClusterClients.perNode().then((nodes) =>
      nodes.map(({ node, master, names }) => ({
        node,
        master,
        // ioredis's slot-map refresh opens a short-lived connection now and then; not held.
        names: names.filter((name) => name.includes(`:${pid}:`) && !name.startsWith("ioredis-cluster(refresher)")),
      })),
    ),
  )

describe("connections on a Redis Cluster", () => {
  it.scopedLive(
    "a worker process hosting 11 actors over 12 partitions holds at most 2 connections per master and none on replicas",
    () => {
      const prefix = TestRedis.uniquePrefix("wnc")
      return Effect.gen(function* () {
        const worker = yield* WorkerProcess.start({
          module: WorkerProcess.fixture("many-worker.ts"),
          redisUrl: TestRedis.url(),
          prefix,
          env: { EDDY_PARTITIONS: String(partitions) },
        })
        const producer = yield* Producer.Producer
        const jobs = (yield* Effect.forEach(Many, (contract) =>
          producer.submitMany(
            contract,
            Array.from({ length: 15 }, (_, i) => ({ input: { i } })),
          ),
        )).flat()
        // Sample while the worker works through them: every few hundred ms for ~3 s.
        const samples: Array<Effect.Effect.Success<ReturnType<typeof connectionsOn>>> = []
        for (let round = 0; round < 8; round++) {
          samples.push(yield* connectionsOn(worker.pid))
          yield* Effect.sleep("400 millis")
        }
        for (const sample of samples) {
          expect(sample.filter((node) => node.master)).toHaveLength(3)
          expect(sample.filter((node) => !node.master)).toHaveLength(3)
          for (const node of sample) {
            if (node.master) expect(node.names.length, node.node).toBeLessThanOrEqual(2)
            else expect(node.names, node.node).toEqual([])
          }
        }
        // Every job ran, on whichever master its partition lives.
        const finished = yield* H.allFinished(
          jobs.map((job) => job.jobId),
          "60 seconds",
        )
        expect(finished.every((status) => status.state === "succeeded")).toBe(true)
        samples.push(yield* connectionsOn(worker.pid))
        // Both connections reach every master (each holds some partitions), and no other kind.
        const last = samples.at(-1) ?? []
        for (const node of last.filter((node) => node.master))
          expect(node.names.map((name) => name.split(":").pop()).toSorted(), node.node).toEqual(["block", "cmd"])
        const most = Math.max(...samples.flatMap((sample) => sample.map((node) => node.names.length)))
        console.log(`connections of the 11-actor worker on the cluster: at most ${most} on one master`)

        worker.kill("SIGTERM")
        expect((yield* worker.exited).code).toBe(0)
      }).pipe(
        Effect.provide(
          Layer.provideMerge(
            Layer.merge(Producer.layer, EventTailer.layer),
            Layer.merge(RedisClient.layer(TestRedis.target()), Settings.layer({ prefix, partitions })),
          ),
        ),
      )
    },
    90_000,
  )
})
