/**
 * The inbox sweep: finds jobs stranded by a lost inbox entry and requeues them. A job's record
 * names its current inbox entry; when that entry is deleted by hand (or by a tool) while the
 * record still says queued or active, no worker would ever read the job again. The sweep walks
 * a partition's job records a bounded step at a time (HSCAN from a cursor) and requeues each
 * stranded job of one actor with `sweep-inbox.lua`: a fresh entry and `requeued` (`from: lost`)
 * in one atomic call. Workers run it from their maintenance loop for the actors they host.
 */
import { Effect } from "effect"
import type { Lane } from "./Actor.js"
import { runScript } from "./internal/runScript.js"
import * as Scripts from "./Scripts.js"
import { Settings } from "./Settings.js"
import { type PartitionKeys, workerGroup } from "./StreamKeys.js"

/** `sweep-inbox.lua` (`Scripts.sweepInbox`) called with its KEYS and ARGV by name, its reply decoded. */

interface SweepKeys {
  readonly jobs: string
  readonly events: string
  readonly inboxes: Readonly<Record<Lane, string>>
  /** The actor's read model, which the requeue folds into inline. */
  readonly model: ReturnType<PartitionKeys["model"]>
}

interface SweepArgs {
  readonly group: string
  readonly actor: string
  readonly cursor: string
  readonly count: number
  readonly eventsMaxLen: number
}

/** What one step did. */
export interface Step {
  /** Where the next step goes on; `"0"` when this one finished a whole scan of the records. */
  readonly cursor: string
  readonly requeued: number
}

const run = (keys: SweepKeys, args: SweepArgs) =>
  runScript(Scripts.sweepInbox, {
    keys: {
      jobs: keys.jobs,
      events: keys.events,
      highInbox: keys.inboxes.high,
      normalInbox: keys.inboxes.normal,
      lowInbox: keys.inboxes.low,
      ...keys.model,
    },
    args,
  }).pipe(Effect.map((reply): Step => ({ cursor: String(reply[0]), requeued: Number(reply[1]) })))

/**
 * One bounded step of the sweep of `actor`'s jobs in a partition: looks at about `count` job
 * records from `cursor` (`"0"` starts a scan) and requeues the stranded ones among them.
 */
export const step = (options: {
  readonly partition: number
  readonly actor: string
  readonly cursor: string
  readonly count: number
}) =>
  Effect.gen(function* () {
    const { keyspace, eventsMaxLen } = yield* Settings
    const p = keyspace.partition(options.partition)
    return yield* run(
      {
        jobs: p.jobs,
        events: p.events,
        inboxes: {
          high: p.inbox(options.actor, "high"),
          normal: p.inbox(options.actor, "normal"),
          low: p.inbox(options.actor, "low"),
        },
        model: p.model(options.actor),
      },
      { group: workerGroup, actor: options.actor, cursor: options.cursor, count: options.count, eventsMaxLen },
    )
  })

/** Records looked at per step, and steps per pass and (partition, actor): the bound of a pass. */
export const defaultBounds = { count: 500, steps: 4 } as const

/**
 * A sweeper for the given (partition, actor) pairs: each run of the returned effect is one pass,
 * at most `steps` steps of `count` records per pair, going on from where the last pass stopped
 * (the cursors live in the sweeper). Answers how many jobs it requeued.
 */
export const sweeper = (
  targets: ReadonlyArray<{ readonly partition: number; readonly actor: string }>,
  bounds: { readonly count: number; readonly steps: number } = defaultBounds,
) => {
  const cursors = new Map<string, string>()
  const unique = [...new Map(targets.map((t) => [`${t.partition}|${t.actor}`, t])).entries()]
  return Effect.forEach(
    unique,
    ([key, target]) =>
      Effect.gen(function* () {
        let requeued = 0
        for (let i = 0; i < bounds.steps; i++) {
          const done = yield* step({ ...target, cursor: cursors.get(key) ?? "0", count: bounds.count })
          cursors.set(key, done.cursor)
          requeued += done.requeued
          if (done.cursor === "0") break
        }
        return requeued
      }),
    { concurrency: "unbounded" },
  ).pipe(
    Effect.map((counts) => counts.reduce((a, b) => a + b, 0)),
    Effect.tap((requeued) =>
      requeued > 0 ? Effect.logWarning(`requeued ${requeued} jobs whose inbox entry was lost`) : Effect.void,
    ),
  )
}
