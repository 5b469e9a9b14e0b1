/**
 * Looking at Redis directly, beside the CLI: job records, a job's events, the sizes of every key
 * of a prefix; and submitting set-up jobs through the library (cheaper than a CLI process when
 * submitting is not what a test is about).
 */
import { type Actor, JobEvent, JobStatus, JobStore, Producer, RedisClient } from "@eddy/core"
import { Effect, Layer } from "effect"
import * as TestRedis from "../../../core/test/support/TestRedis.js"
import { eventually } from "./Eddy.js"

/** A raw client on the test's Redis (a `Cluster` in the cluster projects). */
export const connect = (): Raw => TestRedis.raw()

/** What `connect` gives. */
export type Raw = ReturnType<typeof TestRedis.raw>

/** The stored record of a job (one partition, the default), or undefined. */
export const record = async (
  redis: Raw,
  prefix: string,
  jobId: string,
): Promise<{ s: string; c?: string; k?: string; n: number } | undefined> => {
  const raw = await redis.hgetBuffer(`${prefix}:{p0}:jobs`, jobId)
  return raw === null ? undefined : (JobStatus.fieldsOfRecord(raw) as { s: string; c?: string; k?: string; n: number })
}

/** Waits until the job's state is one of `states`; returns it. */
export const waitForState = (
  redis: Raw,
  prefix: string,
  jobId: string,
  states: ReadonlyArray<string>,
  timeoutMs = 30_000,
) =>
  eventually(
    `job ${jobId} to be ${states.join(" or ")}`,
    async () => {
      const state = (await record(redis, prefix, jobId))?.s
      return state !== undefined && states.includes(state) ? state : undefined
    },
    timeoutMs,
  )

export interface LoggedEvent {
  readonly id: string
  readonly type: string
  readonly jobId: string
  readonly actor: string
  readonly attempt: number
}

/** The partition's event log, decoded just enough, optionally for one job. */
export const events = async (redis: Raw, prefix: string, jobId?: string): Promise<Array<LoggedEvent>> => {
  const entries = await redis.xrange(`${prefix}:{p0}:events`, "-", "+")
  return entries
    .map(([id, flat]) => {
      const fields = JobEvent.eventFieldsOf(flat) ?? {}
      return {
        id,
        type: fields.type ?? "",
        jobId: fields.job ?? "",
        actor: fields.actor ?? "",
        attempt: Number(fields.n),
      }
    })
    .filter((event) => jobId === undefined || event.jobId === jobId)
}

/** Every key of a prefix with its type and size: what "nothing was written" is checked against. */
export const snapshot = async (redis: Raw, prefix: string, except: (key: string) => boolean = () => false) => {
  const keys: Array<string> = []
  // SCAN walks one node's keys: on a cluster, every master's.
  for (const node of "nodes" in redis ? redis.nodes("master") : [redis]) {
    let cursor = "0"
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
      cursor = next
      keys.push(...batch)
    } while (cursor !== "0")
  }
  const sizes: Record<string, string> = {}
  for (const key of keys.filter((k) => !except(k)).sort()) {
    const type = await redis.type(key)
    const size =
      type === "stream"
        ? await redis.xlen(key)
        : type === "hash"
          ? await redis.hlen(key)
          : type === "zset"
            ? await redis.zcard(key)
            : type === "string"
              ? await redis.strlen(key)
              : -1
    sizes[key] = `${type}:${size}`
  }
  return sizes
}

/** Submits jobs through the library (validated like `eddy submit`); returns their ids in order. */
export const submit = (prefix: string, contract: Actor.Any, inputs: ReadonlyArray<unknown>) =>
  Effect.runPromise(
    Effect.forEach(inputs, (input) =>
      Producer.prepareUnknown(contract, input).pipe(
        Effect.flatMap(JobStore.submit),
        Effect.map((submitted) => submitted.jobId),
      ),
    ).pipe(
      Effect.provide(
        Layer.merge(RedisClient.layer({ ...TestRedis.target(), timeout: "5 seconds" }), TestRedis.settings({ prefix })),
      ),
    ),
  )
