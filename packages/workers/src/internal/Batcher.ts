/**
 * Gathers calls that job fibers make at about the same time into one Redis call per group: each
 * caller asks for one item and waits; one fiber takes everything asked so far, runs it as a
 * batch per group (an inbox), and answers every caller. While a batch is on the wire the next
 * one gathers, so under load a batch grows to what arrived during one round trip, and an idle
 * worker pays no delay.
 *
 * Effect's own request batching (`RequestResolver.makeBatched`) only batches requests made
 * inside one fiber's `Effect.all`/`forEach`; job fibers are independent, hence this.
 */
import { Effect, Either, Exit, FiberId, type Scope } from "effect"

/**
 * An item and how to answer its caller: the caller's own resume callback, not a Deferred (a
 * Deferred per call was a measurable share of a job's cost; a late or second answer to an
 * interrupted caller is ignored by the runtime, as a Deferred's would be).
 */
interface Pending<A, B, E> {
  readonly item: A
  readonly answer: (result: Exit.Exit<B, E>) => void
}

const interrupted = Exit.interrupt(FiberId.none)

/** Answers each caller of a batch with its own result, or with the batch's failure. */
const answerAll = <A, B, E>(
  group: ReadonlyArray<Pending<A, B, E>>,
  exit: Exit.Exit<ReadonlyArray<Either.Either<B, E>>, E>,
): void => {
  if (Exit.isFailure(exit)) {
    const failed = Exit.failCause(exit.cause)
    for (const pending of group) pending.answer(failed)
    return
  }
  for (let i = 0; i < group.length; i++) {
    const pending = group[i] as Pending<A, B, E>
    const result = exit.value[i]
    pending.answer(
      result === undefined
        ? Exit.die(new Error("a batch answered fewer results than it was given"))
        : Either.isRight(result)
          ? Exit.succeed(result.right)
          : Exit.fail(result.left),
    )
  }
}

/** Asks for items to be run in a batch. */
export interface Batcher<A, B, E> {
  /** Asks for one item; fails as the item (or its whole batch) failed. */
  readonly call: (item: A) => Effect.Effect<B, E>
  /**
   * The same without an Effect per item, for the job path's hot end: `answer` is called once
   * with the item's exit (an interruption when the batcher closed).
   */
  readonly offer: (item: A, answer: (exit: Exit.Exit<B, E>) => void) => void
}

/**
 * Starts a batcher in the current scope. `run` answers one result per item, in order; its own
 * failure fails every item of that batch. Items still waiting when the scope closes, and items
 * asked for after, are interrupted.
 */
export const make = <A, B, E, F, R>(options: {
  readonly groupOf: (item: A) => string
  readonly run: (items: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<Either.Either<B, E>>, F, R>
  /** Most items in one call. */
  readonly maxBatch: number
  /** Most calls on the wire at once (default 1): with more, a batch gathers while another is answered. */
  readonly flushers?: number
}): Effect.Effect<Batcher<A, B, E | F>, never, Scope.Scope | R> =>
  Effect.gen(function* () {
    // A plain array and one waiting callback rather than an Effect `Queue`: at low load every
    // item is a batch of its own, and a queue's take per batch was among what survived the
    // worker's young-generation collections.
    let waiting: Array<Pending<A, B, E | F>> = []
    let closed = false
    // Flushers waiting for items: an offer wakes one.
    let idle: Array<() => void> = []
    const nextItems = Effect.async<void>((resume) => {
      if (waiting.length > 0) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      idle.push(wake)
      return Effect.sync(() => {
        idle = idle.filter((other) => other !== wake)
      })
    })
    const runGroup = (group: ReadonlyArray<Pending<A, B, E | F>>) =>
      options.run(group.map((pending) => pending.item)).pipe(
        Effect.exit,
        Effect.map((exit) => answerAll(group, exit)),
        // Interrupted on the wire (the worker stops): nobody may wait for an answer forever.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            for (const pending of group) pending.answer(interrupted)
          }),
        ),
      )
    const flush = Effect.gen(function* () {
      yield* nextItems
      // Let the other fibers woken in this round ask too before the batch is cut.
      yield* Effect.yieldNow()
      if (waiting.length === 0) return
      const batch = waiting.length <= options.maxBatch ? waiting : waiting.slice(0, options.maxBatch)
      waiting = batch === waiting ? [] : waiting.slice(options.maxBatch)
      const groups = new Map<string, Array<Pending<A, B, E | F>>>()
      for (const pending of batch) {
        const key = options.groupOf(pending.item)
        const group = groups.get(key)
        if (group === undefined) groups.set(key, [pending])
        else group.push(pending)
      }
      // One group (one inbox: the usual case) runs in this fiber; forking one for it would only
      // delay the call.
      if (groups.size === 1) yield* runGroup([...groups.values()][0] ?? [])
      else yield* Effect.forEach(groups.values(), runGroup, { concurrency: "unbounded", discard: true })
    })
    const closeAll = Effect.sync(() => {
      closed = true
      const left = waiting
      waiting = []
      for (const pending of left) pending.answer(interrupted)
    })
    for (let i = 0; i < (options.flushers ?? 1); i++)
      yield* Effect.forkScoped(
        flush.pipe(
          Effect.forever,
          Effect.onInterrupt(() => closeAll),
        ),
      )
    const offer = (item: A, answer: (exit: Exit.Exit<B, E | F>) => void) => {
      // Closed (its scope is gone): nobody would ever answer.
      if (closed) return answer(interrupted)
      waiting.push({ item, answer })
      idle.shift()?.()
    }
    return {
      offer,
      call: (item: A) => Effect.async<B, E | F>((resume) => offer(item, resume)),
    }
  })
