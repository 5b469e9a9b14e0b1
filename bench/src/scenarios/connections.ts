/**
 * Connections: one process hosting a worker for 11 actors (queues); counted once the worker
 * consumes ("worker process"), then again after a producer and a result listener in the same
 * process have each submitted a job per actor and waited for its result ("whole process").
 * Counted with CLIENT LIST: the clients whose port is a socket of this process (from /proc),
 * less the benchmark's own probe.
 */
import type { Redis } from "ioredis"
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import * as RedisProbe from "../redisProbe.js"
import { payload, sleep } from "../workload.js"
import { range, type Scenario } from "./scenario.js"

// Long enough for every reader to have issued its first blocking read.
const settle = 1_000

const count = async (probe: Redis) => {
  await sleep(settle)
  const clients = await RedisProbe.connectionsOfThisProcess(probe)
  return { count: clients.length, names: clients.map((client) => client.name).sort() }
}

export const connections: Scenario = {
  name: "connections",
  rows: (sizes) => [
    {
      key: "worker",
      label: `worker process, ${sizes.actors} actors`,
      unit: "conns",
      better: "lower",
      target: { kind: "eddyAtMost", value: 2 },
    },
    {
      key: "process",
      label: `+ producer and result listener, ${sizes.actors} actors`,
      unit: "conns",
      better: "lower",
    },
  ],
  run: {
    eddy: async ({ url, sizes }) => {
      const actors = range(0, sizes.actors).map((i) => Eddy.contract(`bench-conn-${i}`))
      const probe = RedisProbe.connect(url, "probe")
      const eddy = await Eddy.open(url)
      try {
        const worker = await eddy.startWorker({
          handlers: actors.map((actor) => Eddy.noop(actor)),
          concurrency: sizes.concurrency,
        })
        const workerOnly = await count(probe)
        await Promise.all(
          actors.map(async (actor, i) => Eddy.result(eddy, actor, await Eddy.submit(eddy, actor, payload(i)))),
        )
        const whole = await count(probe)
        await worker.stop()
        return {
          values: { worker: workerOnly.count, process: whole.count },
          details: { workerNames: workerOnly.names, processNames: whole.names },
        }
      } finally {
        await eddy.close()
        await probe.quit()
      }
    },
    bullmq: async ({ url, sizes }) => {
      const names = range(0, sizes.actors).map((i) => `bench-conn-${i}`)
      const probe = RedisProbe.connect(url, "probe")
      const connection = Bull.connect(url)
      const workers = names.map((name) =>
        Bull.worker(name, Bull.noop(), connection, { concurrency: sizes.concurrency }),
      )
      const queues: Array<ReturnType<typeof Bull.queue>> = []
      const listeners: Array<Bull.Results> = []
      try {
        await Promise.all(workers.map((worker) => worker.waitUntilReady()))
        const workerOnly = await count(probe)
        queues.push(...names.map((name) => Bull.queue(name, connection)))
        listeners.push(...(await Promise.all(names.map((name) => Bull.results(name, connection)))))
        await Promise.all(queues.map(async (queue, i) => listeners[i]?.wait(await Bull.add(queue, payload(i)))))
        const whole = await count(probe)
        return {
          values: { worker: workerOnly.count, process: whole.count },
          details: { workerNames: workerOnly.names, processNames: whole.names },
        }
      } finally {
        await Promise.all(listeners.map((listener) => listener.close()))
        await Promise.all(workers.map((worker) => worker.close()))
        await Promise.all(queues.map((queue) => queue.close()))
        await connection.quit()
        await probe.quit()
      }
    },
  },
}
