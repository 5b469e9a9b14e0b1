/**
 * Typed descriptors of the job-lifecycle Lua scripts (`internal/lua/*.lua`). Each script is
 * sent with the shared prelude `lib.lua` in front of it, runs by EVALSHA (falling back to EVAL
 * once per connection after a server restart), and receives every key through KEYS.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"

/** One Lua script: its name, how many KEYS it takes, and its source. */
export interface Script {
  readonly name: string
  /** The fixed keys; a script with `variadic` takes more after them (groups per actor). */
  readonly keys: number
  readonly variadic: boolean
  /** The script's own text, without the prelude. */
  readonly body: string
  /** What is sent to Redis: prelude and body. */
  readonly source: string
  readonly sha: string
}

const prelude = readFileSync(new URL("./internal/lua/lib.lua", import.meta.url), "utf8")

/**
 * A script from a `.lua` file (its header documents KEYS, ARGV and the reply), sent with the
 * shared prelude. Other packages define their scripts with this too.
 */
export const define = (name: string, keys: number, file: URL, variadic = false): Script => {
  const body = readFileSync(file, "utf8")
  const source = `${prelude}\n${body}`
  return { name, keys, variadic, body, source, sha: createHash("sha1").update(source).digest("hex") }
}

const load = (name: string, keys: number, variadic = false): Script =>
  define(name, keys, new URL(`./internal/lua/${name}.lua`, import.meta.url), variadic)

export const submit = load("submit", 13)
export const submitMany = load("submit-many", 13)
export const start = load("start", 12)
export const startMany = load("start-many", 12)
export const claim = load("claim", 14)
export const renew = load("renew", 2)
export const complete = load("complete", 12)
export const completeMany = load("complete-many", 16)
export const fail = load("fail", 14)
export const release = load("release", 12)
export const reclaim = load("reclaim", 13)
export const promote = load("promote", 12)
export const cancel = load("cancel", 13)
export const confirmCancel = load("confirm-cancel", 12)
export const requeue = load("requeue", 13)
export const purge = load("purge", 12)
export const progress = load("progress", 3)
export const deadLetterEntry = load("dead-letter-entry", 4)
export const expire = load("expire", 3, true)
export const rebuild = load("rebuild", 3, true)
export const listPage = load("list-page", 1)
export const rateAcquire = load("rate-acquire", 1)
export const pruneConsumers = load("prune-consumers", 1)

/** Every script, for tests and preloading. */
export const all: ReadonlyArray<Script> = [
  submit,
  submitMany,
  start,
  startMany,
  claim,
  renew,
  complete,
  completeMany,
  fail,
  release,
  reclaim,
  promote,
  cancel,
  confirmCancel,
  requeue,
  purge,
  progress,
  deadLetterEntry,
  expire,
  rebuild,
  listPage,
  rateAcquire,
  pruneConsumers,
]

/** A script's reply: nested arrays of strings and integers. */
export type Reply = ReadonlyArray<unknown>

/** Runs a script on a connection. The key count is checked: a wrong count is a bug, not input. */
export const run = async (
  redis: Redis,
  script: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>,
): Promise<Reply> => {
  if (script.variadic ? keys.length < script.keys : keys.length !== script.keys)
    throw new Error(
      `${script.name}.lua takes ${script.variadic ? "at least " : ""}${script.keys} keys, got ${keys.length}`,
    )
  try {
    return (await redis.evalsha(script.sha, keys.length, ...keys, ...args)) as Reply
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("NOSCRIPT"))
      return (await redis.eval(script.source, keys.length, ...keys, ...args)) as Reply
    throw error
  }
}
