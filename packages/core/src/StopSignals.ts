/**
 * "Stop" and "stop now" for a long-running process. The first SIGINT or SIGTERM is the runtime's:
 * it interrupts the main fiber, which stops gracefully. A later one means "stop now" (a worker
 * releases its running jobs at once instead of waiting out the grace).
 *
 * Copies of the first signal that arrive within `window` of it are the same request, not a
 * second one: a terminal's Ctrl-C reaches every process of its group, and npm, `npm start`'s
 * bootstrap and the `eddy` wrapper each pass their own copy on, so one Ctrl-C can arrive two or
 * three times within a few milliseconds. Without this, it would skip the grace.
 */
import { Deferred, Duration, Effect, Exit, FiberId } from "effect"

/** The signals that ask a process to stop. */
export const stopSignals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM"]

/**
 * Completes on a stop signal that comes at least `window` (default 1 s) after the first one.
 * Installing it also keeps a copy of the first signal from killing the process: once the
 * runtime's own handler has gone, Node's default for a SIGINT or SIGTERM is to exit at once.
 */
export const second = (window: Duration.DurationInput = "1 second"): Effect.Effect<Deferred.Deferred<void>> =>
  Effect.sync(() => {
    const windowMs = Duration.toMillis(Duration.decode(window))
    const stopNow = Deferred.unsafeMake<void>(FiberId.none)
    // Wall time from the signal handler itself: it runs outside any fiber.
    let firstAt: number | undefined
    const onSignal = () => {
      const now = Date.now()
      if (firstAt === undefined) firstAt = now
      else if (now - firstAt >= windowMs) Deferred.unsafeDone(stopNow, Exit.void)
    }
    for (const signal of stopSignals) process.on(signal, onSignal)
    return stopNow
  })
