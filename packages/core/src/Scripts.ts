/**
 * Typed descriptors of the job-lifecycle Lua scripts (`internal/lua/*.lua`). The scripts run as
 * the functions of one Redis function library, with the shared prelude (`lib/*.lua`) in front of
 * them (`internal/ScriptLibrary.ts`), by FCALL, loading the library on a server that lacks it;
 * each receives every key through KEYS.
 */
import { readFileSync } from "node:fs"
import * as ScriptLibrary from "./internal/ScriptLibrary.js"
import type { Commands } from "./RedisClientService.js"
import { modelKeyNames } from "./StreamKeys.js"

/**
 * One Lua script: its name, its KEYS and ARGV by name (in the order the script reads them), and
 * its source. A caller names every key and argument; `run` puts them in place.
 */
export interface Script<K extends string = string, A extends string = string> {
  readonly name: string
  readonly keyNames: ReadonlyArray<K>
  readonly argNames: ReadonlyArray<A>
  /** How many KEYS are named; a `variadic` script takes more after them (groups per actor). */
  readonly keys: number
  /** More KEYS (per actor) or ARGV (per job) follow the named ones. */
  readonly variadic: boolean
  /** Reads only (a `no-writes` function). */
  readonly readOnly: boolean
  /** Runs when Redis is over its memory limit too (an `allow-oom` function): it frees memory or keeps leases. */
  readonly allowOom: boolean
  /** The script's own text, without the prelude. */
  readonly body: string
}

/** The files of the prelude, in the order they are joined. */
export const preludeFiles = ["records", "model", "jobs", "call"] as const

/** The helpers every script's body is run with: `internal/lua/lib/*.lua`, joined in order. */
export const prelude = preludeFiles
  .map((file) => readFileSync(new URL(`./internal/lua/lib/${file}.lua`, import.meta.url), "utf8"))
  .join("\n")

const load = <const K extends string, const A extends string>(
  name: string,
  spec: {
    readonly keys: ReadonlyArray<K>
    readonly args: ReadonlyArray<A>
    readonly variadic?: boolean
    readonly readOnly?: boolean
    readonly allowOom?: boolean
  },
): Script<K, A> => ({
  name,
  keyNames: spec.keys,
  argNames: spec.args,
  keys: spec.keys.length,
  variadic: spec.variadic ?? false,
  readOnly: spec.readOnly ?? false,
  allowOom: spec.allowOom ?? false,
  body: readFileSync(new URL(`./internal/lua/${name}.lua`, import.meta.url), "utf8"),
})

const model = modelKeyNames
const fencedArgs = ["jobId", "entryId", "group", "consumer"] as const

export const submit = load("submit", {
  keys: ["jobs", "events", "inbox", "delayed", "actors", ...model],
  args: ["jobId", "actor", "lane", "input", "maxAttempts", "delayMs", "correlationId", "causationId", "eventsMaxLen"],
})
/** Then 5 ARGV per job: job id, input, delay ms, correlation id, causation id. */
export const submitMany = load("submit-many", {
  keys: ["jobs", "events", "inbox", "delayed", "actors", ...model],
  args: ["actor", "lane", "maxAttempts", "eventsMaxLen"],
  variadic: true,
})
export const start = load("start", {
  keys: ["jobs", "events", "inbox", "paused", ...model],
  args: [...fencedArgs, "eventsMaxLen", "actor"],
})
/** Then ARGV pairs: job id, entry id. */
export const startMany = load("start-many", {
  keys: ["jobs", "events", "inbox", "paused", ...model],
  args: ["group", "consumer", "eventsMaxLen", "actor"],
  variadic: true,
})
export const claim = load("claim", {
  keys: ["jobs", "events", "highInbox", "normalInbox", "lowInbox", "paused", ...model],
  args: ["group", "consumer", "eventsMaxLen", "count", "actor"],
})
/** Then ARGV pairs: entry id, job id. */
export const renew = load("renew", {
  keys: ["jobs", "inbox"],
  args: ["group", "consumer"],
  variadic: true,
  allowOom: true,
})
export const complete = load("complete", {
  keys: ["jobs", "events", "inbox", ...model],
  args: [...fencedArgs, "output", "eventsMaxLen"],
})
/** Then ARGV triples: job id, entry id, output. */
export const completeMany = load("complete-many", {
  keys: ["jobs", "events", "inbox", ...model, "highInbox", "normalInbox", "lowInbox", "paused"],
  args: ["group", "consumer", "eventsMaxLen", "claimNext", "actor"],
  variadic: true,
})
export const fail = load("fail", {
  keys: ["jobs", "events", "inbox", "delayed", "dead", ...model],
  args: [...fencedArgs, "error", "retryable", "retryDelayMs", "eventsMaxLen", "deadLettersMaxLen", "reason"],
})
export const release = load("release", {
  keys: ["jobs", "events", "inbox", ...model],
  args: [...fencedArgs, "eventsMaxLen"],
})
export const reclaim = load("reclaim", {
  keys: ["jobs", "events", "inbox", "dead", ...model],
  args: ["group", "consumer", "minIdleMs", "count", "maxDeliveries", "eventsMaxLen", "deadLettersMaxLen", "cursor"],
})
export const promote = load("promote", {
  keys: ["delayed", "inbox", "jobs", "events", ...model],
  args: ["limit", "eventsMaxLen"],
})
export const cancel = load("cancel", {
  keys: ["jobs", "events", "inbox", "delayed", ...model],
  args: ["jobId", "group", "eventsMaxLen", "actor", "lane"],
})
export const confirmCancel = load("confirm-cancel", {
  keys: ["jobs", "events", "inbox", ...model],
  args: [...fencedArgs, "eventsMaxLen"],
})
export const requeue = load("requeue", {
  keys: ["jobs", "events", "inbox", "dead", ...model],
  args: ["jobId", "eventsMaxLen", "actor", "lane"],
})
export const purge = load("purge", {
  keys: ["jobs", "events", "dead", ...model],
  args: ["jobId", "eventsMaxLen"],
})
export const progress = load("progress", {
  keys: ["jobs", "events", "inbox"],
  args: [...fencedArgs, "fraction", "data", "eventsMaxLen"],
})
export const deadLetterEntry = load("dead-letter-entry", {
  keys: ["inbox", "dead", "events", "rates"],
  args: ["entryId", "group", "consumer", "actor", "detail", "eventsMaxLen", "deadLettersMaxLen"],
})
/** Then per actor: its succeeded, deadLettered and cancelled lists (KEYS) and its name (ARGV). */
export const expire = load("expire", {
  keys: ["jobs", "rates"],
  args: ["limit", "retentionMs", "deadLetterRetentionMs"],
  variadic: true,
  allowOom: true,
})
/** Then per actor: its seven lists (KEYS) and its name (ARGV). */
export const rebuild = load("rebuild", {
  keys: ["events", "jobs", "rates"],
  args: ["cursor", "count", "cleared"],
  variadic: true,
})
export const listPage = load("list-page", { keys: ["list"], args: ["score", "after", "limit"], readOnly: true })
/** Then more lists of the same partition. */
export const listSize = load("list-size", { keys: ["list"], args: [], variadic: true, readOnly: true })
export const rateAcquire = load("rate-acquire", { keys: ["window"], args: ["limit", "windowMs", "permitId"] })
export const pruneConsumers = load("prune-consumers", {
  keys: ["inbox"],
  args: ["group", "minIdleMs", "only"],
  allowOom: true,
})
export const sweepInbox = load("sweep-inbox", {
  keys: ["jobs", "events", "highInbox", "normalInbox", "lowInbox", ...model],
  args: ["group", "actor", "cursor", "count", "eventsMaxLen"],
})

/** Every script: the library holds them all. */
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
  listSize,
  rateAcquire,
  pruneConsumers,
  sweepInbox,
]

/** The library every script runs in. */
export const library = ScriptLibrary.build(prelude, all)

/** A script's reply: nested arrays of strings and integers. */
export type Reply = ReadonlyArray<unknown>

/** One call of a script: every key and argument by name, and the repeated groups after them. */
export interface Call<K extends string, A extends string> {
  readonly keys: { readonly [key in K]: string }
  readonly args: { readonly [arg in A]: string | number }
  /** KEYS after the named ones (a variadic script's groups per actor). */
  readonly moreKeys?: ReadonlyArray<string>
  /** ARGV after the named ones (per job, per actor). */
  readonly moreArgs?: ReadonlyArray<string | number>
}

/** Runs a script on a connection, its keys and arguments put in the order the script reads them. */
export const run = async <K extends string, A extends string>(
  redis: Commands,
  script: Script<K, A>,
  call: Call<K, A>,
): Promise<Reply> => {
  if (!script.variadic && (call.moreKeys?.length || call.moreArgs?.length))
    throw new Error(`${script.name}.lua takes no more than its named keys and arguments`)
  const keys = script.keyNames.map((name) => call.keys[name])
  if (call.moreKeys !== undefined) keys.push(...call.moreKeys)
  const args: Array<string | number> = script.argNames.map((name) => call.args[name])
  if (call.moreArgs !== undefined) args.push(...call.moreArgs)
  return (await ScriptLibrary.call(redis, library, script.name, keys, args)) as Reply
}
