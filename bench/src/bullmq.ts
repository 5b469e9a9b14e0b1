/**
 * BullMQ as the benchmark drives it, set up the way its documentation recommends for few
 * connections: one shared ioredis connection (`maxRetriesPerRequest: null`) given to every
 * Queue, Worker and QueueEvents, which duplicate it only where they need a blocking connection.
 * Completed jobs are kept (`removeOnComplete: false`), as eddy keeps its terminal records.
 */
import { type Job, Queue, QueueEvents, Worker, type WorkerOptions } from "bullmq"
import { Redis } from "ioredis"
import { now, type Output, type Payload } from "./workload.js"

/** The shared connection of a process. */
export const connect = (url: string): Redis => new Redis(url, { maxRetriesPerRequest: null })

export const queue = (name: string, connection: Redis): Queue<Payload, Output> =>
  new Queue<Payload, Output>(name, {
    connection,
    defaultJobOptions: { removeOnComplete: false, removeOnFail: false },
  })

/** A worker at concurrency 50 (eddy's per-process default), started at once. */
export const worker = (
  name: string,
  processor: (job: Job<Payload, Output>) => Promise<Output>,
  connection: Redis,
  options: Partial<WorkerOptions> = {},
): Worker<Payload, Output> => new Worker<Payload, Output>(name, processor, { connection, concurrency: 50, ...options })

/** The no-op processor: answers when it started, and `onStart` lets a scenario note pick-ups. */
export const noop =
  (onStart: () => void = () => {}) =>
  async (): Promise<Output> => {
    onStart()
    return { startedAt: now() }
  }

/** Adds jobs with `addBulk`; answers their ids. */
export const addBulk = async (target: Queue<Payload, Output>, inputs: ReadonlyArray<Payload>) => {
  const jobs = await target.addBulk(inputs.map((data) => ({ name: "job", data })))
  return jobs.map((job) => job.id as string)
}

/** Adds one job; answers its id. */
export const add = async (target: Queue<Payload, Output>, input: Payload) =>
  (await target.add("job", input)).id as string

/**
 * Results as a producer sees them: one QueueEvents per queue, its `completed` events routed to
 * whoever waits for that job. A result that arrives before anyone waits is kept for them.
 */
export interface Results {
  readonly wait: (jobId: string, timeoutMs?: number) => Promise<Output>
  readonly close: () => Promise<void>
}

export const results = async (name: string, connection: Redis): Promise<Results> => {
  // From the stream's start, not `$`: events of jobs added before the first XREAD are not lost.
  // Every scenario starts on a flushed server, so "the start" holds only this run's events.
  const events = new QueueEvents(name, { connection, lastEventId: "0-0" })
  const waiting = new Map<string, { resolve: (output: Output) => void; reject: (error: Error) => void }>()
  const early = new Map<string, Output>()
  events.on("completed", ({ jobId, returnvalue }) => {
    const output = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as Output
    const waiter = waiting.get(jobId)
    if (waiter === undefined) early.set(jobId, output)
    else {
      waiting.delete(jobId)
      waiter.resolve(output)
    }
  })
  events.on("failed", ({ jobId, failedReason }) => {
    waiting.get(jobId)?.reject(new Error(`job ${jobId} failed: ${failedReason}`))
    waiting.delete(jobId)
  })
  await events.waitUntilReady()
  return {
    wait: (jobId, timeoutMs = 60_000) => {
      const ready = early.get(jobId)
      if (ready !== undefined) {
        early.delete(jobId)
        return Promise.resolve(ready)
      }
      return new Promise<Output>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(jobId)
          reject(new Error(`no result for job ${jobId} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiting.set(jobId, {
          resolve: (output) => {
            clearTimeout(timer)
            resolve(output)
          },
          reject: (error) => {
            clearTimeout(timer)
            reject(error)
          },
        })
      })
    },
    close: () => events.close(),
  }
}
