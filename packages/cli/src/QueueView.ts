/** Per-actor numbers for `eddy queues` and `eddy monitor`, and how they are drawn. */
import { JobStore, ReadModel, RedisClient, Settings, WorkerPresence } from "@eddy/core"
import { Effect } from "effect"
import * as Actors from "./Actors.js"
import * as Lazy from "./Lazy.js"

export interface Row {
  readonly actor: string
  readonly depth: number
  readonly delayed: number
  /** Running now, from the read model (kept inline by the scripts). */
  readonly active: number
  /** Waiting in the dead letters, counted there (malformed entries, which are no jobs, too). */
  readonly deadLettered: number
  /** Paused: no worker claims its jobs. */
  readonly paused: boolean
  readonly workers: number
  /** Jobs finished per minute, over the last five minutes. */
  readonly ratePerMinute: number
}

/** Entries of each actor's dead-letter streams, over every partition. */
const deadLetters = (actors: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const counts = yield* Effect.forEach(
      actors,
      (actor) =>
        Effect.forEach(keyspace.all, (p) => redis.run((c) => c.xlen(p.dead(actor))), { concurrency: "unbounded" }).pipe(
          Effect.map((lengths): [string, number] => [actor, lengths.reduce((sum, n) => sum + n, 0)]),
        ),
      { concurrency: "unbounded" },
    )
    return new Map(counts)
  })

/** The numbers of every actor. */
export const rows = Effect.gen(function* () {
  const { QueueStats } = yield* Lazy.gateway
  const actors = yield* Actors.discover
  const [stats, dead, counts, rates, workers, paused] = yield* Effect.all(
    [
      QueueStats.forActors(actors),
      deadLetters(actors),
      ReadModel.counts(actors),
      ReadModel.rates(5),
      WorkerPresence.list,
      JobStore.paused,
    ],
    { concurrency: "unbounded" },
  )
  return actors.map(
    (actor): Row => ({
      actor,
      depth: stats.get(actor)?.depth ?? 0,
      delayed: stats.get(actor)?.delayed ?? 0,
      active: counts.get(actor)?.active ?? 0,
      deadLettered: dead.get(actor) ?? 0,
      paused: paused.has(actor),
      workers: workers.filter((w) => w.actors.includes(actor)).length,
      ratePerMinute: ((rates.get(actor)?.succeeded ?? 0) + (rates.get(actor)?.deadLettered ?? 0)) / 5,
    }),
  )
})

/** A plain table. */
export const table = (rows: ReadonlyArray<Row>): string => {
  if (rows.length === 0) return "no actors yet"
  const header = ["actor", "depth", "delayed", "active", "dead", "workers", "rate/min", "paused"]
  const cells = rows.map((r) => [
    r.actor,
    String(r.depth),
    String(r.delayed),
    String(r.active),
    String(r.deadLettered),
    String(r.workers),
    r.ratePerMinute.toFixed(1),
    r.paused ? "yes" : "no",
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? "").length)))
  const format = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")
  return [format(header), ...cells.map(format)].join("\n")
}

const bar = (value: number, max: number, width = 24) => {
  const filled = max <= 0 ? 0 : Math.min(width, Math.round((value / max) * width))
  return `${"█".repeat(filled)}${"·".repeat(width - filled)}`
}

/** The monitor's screen: depth and rate bars per actor. */
export const screen = (rows: ReadonlyArray<Row>, now: Date): string => {
  const maxDepth = Math.max(1, ...rows.map((r) => r.depth))
  const maxRate = Math.max(1, ...rows.map((r) => r.ratePerMinute))
  const width = Math.max(5, ...rows.map((r) => r.actor.length))
  return [
    `eddy monitor — ${now.toISOString().replace("T", " ").slice(0, 19)} — Ctrl-C quits`,
    "",
    `${"actor".padEnd(width)}  ${"depth".padEnd(31)}  ${"rate/min".padEnd(32)}  active  workers  dead`,
    ...rows.map(
      (r) =>
        `${r.actor.padEnd(width)}  ${bar(r.depth, maxDepth)} ${String(r.depth).padStart(6)}  ${bar(r.ratePerMinute, maxRate)} ${r.ratePerMinute.toFixed(1).padStart(7)}  ${String(r.active).padStart(6)}  ${String(r.workers).padStart(7)}  ${String(r.deadLettered).padStart(4)}`,
    ),
    ...(rows.length === 0 ? ["no actors yet"] : []),
  ].join("\n")
}
