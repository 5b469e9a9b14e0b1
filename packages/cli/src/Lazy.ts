/**
 * The packages only some commands need, loaded when one runs: `eddy --help`, `eddy status` or
 * `eddy submit` do not load the HTTP gateway or the worker runtime (every module loaded costs
 * start-up time, and a CLI is started often).
 */
import { Effect } from "effect"

/** `@eddy/gateway`: the HTTP gateway and its queue reads. */
export const gateway = Effect.promise(() => import("@eddy/gateway"))

/** The dead-letter reads and steering the gateway's handlers use. */
export const deadLetters = Effect.promise(() => import("@eddy/gateway/DeadLettersHandlers"))

/** `@eddy/workers`: the worker runtime. */
export const workers = Effect.promise(() => import("@eddy/workers"))
