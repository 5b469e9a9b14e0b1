/**
 * The state of one Redis client's link, kept and logged alike for a single connection
 * (`RedisConnection.connect`) and a cluster client (`ClusterConnection.connectCluster`): where the
 * link is (connecting, up, down since when, or closing), why it is down, each change logged once,
 * and the callers waiting for it to be ready. Each of them feeds it from its own ioredis listeners
 * and keeps what only it does (asking a refusing server why; a cluster's per-node trouble).
 */
import { Effect, Runtime } from "effect"

/** `closing` is our own quit: the close that follows is not an outage. */
export type LinkState = "connecting" | "up" | "down" | "closing"

/**
 * The wait for a client to be ready, and why it is not: one set of waiting callers for all calls
 * (a `once("ready")` per caller would pile up past Node's listener limit while Redis is away).
 */
export const readiness = (
  isReady: () => boolean,
  waiting: Set<() => void>,
  why: () => { readonly said: string | undefined; readonly lastError: string | undefined },
) => ({
  whenReady: Effect.async<void>((resume) => {
    if (isReady()) return resume(Effect.void)
    const wake = () => {
      waiting.delete(wake)
      resume(Effect.void)
    }
    waiting.add(wake)
    return Effect.sync(() => waiting.delete(wake))
  }),
  trouble: () => {
    if (isReady()) return {}
    const { said, lastError } = why()
    return { ...(said === undefined ? {} : { said }), ...(lastError === undefined ? {} : { error: lastError }) }
  },
})

/**
 * Where a link is and why it is down. Its state changes only through `watchLink`'s transitions;
 * the listeners write down what Redis said (`said`: a reply error, or its answer when asked why)
 * and the last error ioredis reported (`lastError`: for a refusal only `write EPIPE` or a close).
 */
export interface Link {
  readonly state: LinkState
  /** When the current outage began. */
  readonly lostAt: number
  said: string | undefined
  lastError: string | undefined
}

/**
 * A link's state, its transitions with their logs, and its readiness. Logs go through `runtime`,
 * the client's own, annotated with the client's target and role: a connection opened lazily must
 * not log with the annotations (actor, jobId, …) of whichever caller happened to open it. `name`
 * is how the logs call the client ("Redis connection"); `isReady` asks ioredis itself.
 */
export const watchLink = (
  runtime: Runtime.Runtime<never>,
  annotations: { readonly redis: string; readonly connection: string },
  name: string,
  isReady: () => boolean,
) => {
  const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect.pipe(Effect.annotateLogs(annotations)))
  const link: { state: LinkState; lostAt: number; said: string | undefined; lastError: string | undefined } = {
    state: "connecting",
    lostAt: 0,
    said: undefined,
    lastError: undefined,
  }
  const waiting = new Set<() => void>()
  return {
    link: link as Link,
    log,
    ...readiness(isReady, waiting, () => link),
    /** ioredis is ready: logs the return (or the first connect), forgets the trouble, wakes the waiters. */
    ready: () => {
      if (link.state === "down") log(Effect.logInfo(`${name} back after ${Date.now() - link.lostAt} ms`))
      else if (link.state === "connecting") log(Effect.logDebug(`${name} up`))
      link.state = "up"
      link.said = undefined
      link.lastError = undefined
      for (const wake of [...waiting]) wake()
    },
    /** Marks the link down, once per outage: false when it already was, or is closing. */
    lose: () => {
      if (link.state === "down" || link.state === "closing") return false
      link.state = "down"
      link.lostAt = Date.now()
      return true
    },
    /** Logs the loss, with what Redis said if it said something, else `reason`. */
    reportLost: (reason: string) =>
      log(Effect.logWarning(`${name} lost (${link.said ?? reason}); reconnecting with backoff`)),
    /** Connected but not ready (Redis refuses or loads): down, an outage from now if it was connecting. */
    notReady: () => {
      if (link.state === "connecting") link.lostAt = Date.now()
      link.state = "down"
    },
    /** Our own quit: the close that follows is not an outage. */
    closing: () => {
      link.state = "closing"
    },
  }
}
