/**
 * Where everything lives in Redis. Every key of a job sits in one partition, and the partition's
 * name is a Redis Cluster hash tag (`{p3}`), so one script can touch all of a job's keys on one
 * shard. Scripts receive every key through KEYS; nothing builds a key inside Lua.
 *
 * Layout (prefix `eddy`, partition 0):
 * - `eddy:{p0}:jobs`                  hash: job id → job record (JSON)
 * - `eddy:{p0}:events`                stream: the partition's event log
 * - `eddy:{p0}:inbox:<actor>:<lane>`  stream: queued deliveries, consumer group `workers`
 * - `eddy:{p0}:delayed:<actor>:<lane>` sorted set: delayed and retrying job ids → due time
 * - `eddy:{p0}:dead:<actor>`          stream: dead letters of an actor
 * - `eddy:{p0}:list:<actor>:<state>`  sorted set: the read model (the status projection, kept
 *                                     inline by the scripts): the actor's jobs in that state →
 *                                     when they entered it; its ZCARD is the count. For a
 *                                     finished state a stream instead: an entry `j` = job id
 *                                     made at that time; its XLEN is the count
 * - `eddy:{p0}:rates`                 hash: `<actor>|<outcome>|<minute>` → outcomes in that minute
 * - `eddy:{p0}:actors`                set: actors that have had jobs in this partition
 * - `eddy:{p0}:paused`                set: paused actors (written to every partition)
 *
 * Keys of the deployment rather than of a partition (each used alone, so Cluster-safe):
 * - `eddy:{rate:<actor>}`             sorted set: the actor's rolling rate-limit window
 * - `eddy:workers`                    hash: worker id → presence (JSON, with its expiry)
 * - `eddy:meta`                       hash: what the deployment was started with (`partitions`),
 *                                     recorded by the first component to write (PartitionGuard)
 */
import type { Lane } from "./Actor.js"
import type { State } from "./JobStatus.js"

/** The consumer group every inbox is read through. */
export const workerGroup = "workers"

/** Lanes in the order workers serve them. */
export const lanes: ReadonlyArray<Lane> = ["high", "normal", "low"]

/** Job states in the order the scripts take an actor's lists (see lib/model.lua's `STATES`). */
export const states: ReadonlyArray<State> = [
  "queued",
  "delayed",
  "active",
  "retrying",
  "succeeded",
  "deadLettered",
  "cancelled",
]

/** The read model's keys of one actor, by the names the scripts' descriptors give them. */
export interface ModelKeys {
  readonly rates: string
  readonly listQueued: string
  readonly listDelayed: string
  readonly listActive: string
  readonly listRetrying: string
  readonly listSucceeded: string
  readonly listDeadLettered: string
  readonly listCancelled: string
}

/** The names of `ModelKeys`, in the order the scripts take them (rates, then `states`' lists). */
export const modelKeyNames = [
  "rates",
  "listQueued",
  "listDelayed",
  "listActive",
  "listRetrying",
  "listSucceeded",
  "listDeadLettered",
  "listCancelled",
] as const satisfies ReadonlyArray<keyof ModelKeys>

/** The states a finished job's record can expire in, in the order `expire.lua` takes their lists. */
export const finishedStates: ReadonlyArray<State> = ["succeeded", "deadLettered", "cancelled"]

/** The keys of one partition. */
export interface PartitionKeys {
  readonly index: number
  readonly tag: string
  readonly jobs: string
  readonly events: string
  readonly inbox: (actor: string, lane: Lane) => string
  readonly delayed: (actor: string, lane: Lane) => string
  readonly dead: (actor: string) => string
  /** The read model's list of an actor's jobs in one state. */
  readonly list: (actor: string, state: State) => string
  /** The read model of one actor, as the lifecycle scripts take it. */
  readonly model: (actor: string) => ModelKeys
  /** Outcomes per actor and minute. */
  readonly rates: string
  readonly actors: string
  readonly paused: string
}

/** The key space of one deployment: a prefix and a number of partitions. */
export interface Keyspace {
  readonly prefix: string
  readonly partitions: number
  readonly partition: (index: number) => PartitionKeys
  /** The partition a job belongs to: a stable hash of `partitionKey ?? jobId`. */
  readonly partitionOf: (jobId: string, partitionKey?: string) => PartitionKeys
  readonly all: ReadonlyArray<PartitionKeys>
  /** The rolling window of an actor's rate limit. */
  readonly rate: (actor: string) => string
  /** Live worker processes. */
  readonly workers: string
  /** What the deployment was started with: its partition count (see `PartitionGuard`). */
  readonly meta: string
}

/** FNV-1a, 32 bit: stable across processes, languages and versions. */
export const stableHash = (value: string): number => {
  let hash = 0x811c9dc5
  // ASCII text is its own UTF-8: hashed from its char codes without encoding it (a generated
  // job id always is); anything else is hashed from its UTF-8 bytes, with the same result.
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code > 0x7f) return hashBytes(value)
    hash ^= code
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

const hashBytes = (value: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(value, "utf8")) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

const partitionKeys = (prefix: string, index: number): PartitionKeys => {
  const tag = `{p${index}}`
  const base = `${prefix}:${tag}`
  return {
    index,
    tag,
    jobs: `${base}:jobs`,
    events: `${base}:events`,
    inbox: (actor, lane) => `${base}:inbox:${actor}:${lane}`,
    delayed: (actor, lane) => `${base}:delayed:${actor}:${lane}`,
    dead: (actor) => `${base}:dead:${actor}`,
    list: (actor, state) => `${base}:list:${actor}:${state}`,
    model: (actor) => ({
      rates: `${base}:rates`,
      listQueued: `${base}:list:${actor}:queued`,
      listDelayed: `${base}:list:${actor}:delayed`,
      listActive: `${base}:list:${actor}:active`,
      listRetrying: `${base}:list:${actor}:retrying`,
      listSucceeded: `${base}:list:${actor}:succeeded`,
      listDeadLettered: `${base}:list:${actor}:deadLettered`,
      listCancelled: `${base}:list:${actor}:cancelled`,
    }),
    rates: `${base}:rates`,
    actors: `${base}:actors`,
    paused: `${base}:paused`,
  }
}

/** Builds the key space for a prefix and partition count. */
export const make = (prefix: string, partitions: number): Keyspace => {
  const all = Array.from({ length: partitions }, (_, index) => partitionKeys(prefix, index))
  const partition = (index: number) => {
    const keys = all[index]
    if (keys === undefined) throw new RangeError(`partition ${index} is outside 0..${partitions - 1}`)
    return keys
  }
  return {
    prefix,
    partitions,
    partition,
    partitionOf: (jobId, partitionKey) =>
      partitions === 1 ? (all[0] as PartitionKeys) : partition(stableHash(partitionKey ?? jobId) % partitions),
    all,
    rate: (actor) => `${prefix}:{rate:${actor}}`,
    workers: `${prefix}:workers`,
    meta: `${prefix}:meta`,
  }
}
