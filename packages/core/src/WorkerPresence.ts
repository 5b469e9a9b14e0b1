/**
 * Who is working: each worker process publishes a presence record (id, host, pid, actors,
 * concurrency, in flight, started at) that expires unless its heartbeat refreshes it, and
 * removes it on a clean stop. Expired records are ignored by readers and pruned by them.
 */
import { Duration, Effect, Option, Schema } from "effect"
import { RedisClient } from "./RedisClient.js"
import { Settings } from "./Settings.js"

export const Presence = Schema.Struct({
  id: Schema.String,
  host: Schema.String,
  pid: Schema.Number,
  actors: Schema.Array(Schema.String),
  concurrency: Schema.Number,
  inFlight: Schema.Number,
  startedAt: Schema.Number,
  /** When this record stops counting unless refreshed. */
  expiresAt: Schema.Number,
  /** When the worker last refreshed it (absent in records of older workers). */
  heartbeatAt: Schema.optional(Schema.Number),
})
export type Presence = typeof Presence.Type

const decode = Schema.decodeUnknownOption(Schema.parseJson(Presence))

/** Publishes (or refreshes) a worker's presence for `ttl`. */
export const publish = (presence: Omit<Presence, "expiresAt" | "heartbeatAt">, ttl: Duration.Duration) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    const now = Date.now()
    const record: Presence = { ...presence, expiresAt: now + Duration.toMillis(ttl), heartbeatAt: now }
    yield* redis.run((connection) => connection.hset(keyspace.workers, presence.id, JSON.stringify(record)))
  })

/** Removes a worker's presence (clean stop). */
export const remove = (id: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    yield* redis.run((connection) => connection.hdel(keyspace.workers, id))
  })

/** The live workers; expired records are pruned on the way. */
export const list = Effect.gen(function* () {
  const { keyspace } = yield* Settings
  const redis = yield* RedisClient
  const all = yield* redis.run((connection) => connection.hgetall(keyspace.workers))
  const now = Date.now()
  const live: Array<Presence> = []
  const expired: Array<string> = []
  for (const [id, raw] of Object.entries(all)) {
    const presence = decode(raw)
    if (Option.isSome(presence) && presence.value.expiresAt > now) live.push(presence.value)
    else expired.push(id)
  }
  if (expired.length > 0) yield* redis.run((connection) => connection.hdel(keyspace.workers, ...expired))
  return live.sort((a, b) => a.startedAt - b.startedAt)
})
