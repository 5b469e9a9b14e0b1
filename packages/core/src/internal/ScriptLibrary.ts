/**
 * The lifecycle scripts as one Redis function library (Redis ≥ 7.0 functions): the shared
 * prelude (`lib/*.lua`) once, then each script's body as a function. A function library's top level
 * runs once, when it is loaded; a script sent by EVALSHA runs its whole text, the ~500 lines of
 * prelude included, on every call: FCALL took 12.8 µs against EVALSHA's 19.0 for one submit
 * (see docs/benchmarks.md).
 *
 * The library is named by a hash of its source, so processes of different versions each call
 * their own. A server that lacks it (new, flushed, or a cluster master added later) gets it on
 * the first call that misses it; the eddy libraries of other versions are deleted once there are
 * more than `keptLibraries` (a process whose library went loads it again on its next call).
 */
import { createHash } from "node:crypto"
import type { Cluster, Redis } from "ioredis"

/** What the library needs of a script. */
export interface LibraryScript {
  readonly name: string
  readonly body: string
  /** Reads only: may run when the server is over its memory limit. */
  readonly readOnly: boolean
  /**
   * Writes, but may run when the server is over its memory limit (a function that may write is
   * refused whole there otherwise): what frees memory or keeps leases must still work then.
   */
  readonly allowOom?: boolean
}

export interface Library {
  readonly name: string
  readonly source: string
  /** The function that runs a script, by the script's name. */
  readonly functionName: (scriptName: string) => string
}

/** Libraries of other eddy versions a server keeps (a rolling deploy runs two at once). */
export const keptLibraries = 4

const prefix = "eddy_"

/** Stands for the library's name in its text until the text's hash names it. */
const unnamed = "eddy_LIBRARY"

export const build = (prelude: string, scripts: ReadonlyArray<LibraryScript>): Library => {
  const suffix = (scriptName: string) => `_${scriptName.replaceAll("-", "_")}`
  const functions = scripts.map((script) => {
    const local = `run${suffix(script.name)}`
    const flags = script.readOnly ? "{ 'no-writes' }" : script.allowOom ? "{ 'allow-oom' }" : "{}"
    return [
      `local function ${local}(KEYS, ARGV)`,
      "begin_call()",
      script.body,
      "end",
      `redis.register_function { function_name = '${unnamed}${suffix(script.name)}', callback = ${local}, flags = ${flags} }`,
    ].join("\n")
  })
  const text = [`#!lua name=${unnamed}`, prelude, ...functions].join("\n")
  // The whole text is hashed, flags and wrappers included: any change is a new library.
  const name = `${prefix}${createHash("sha1").update(text).digest("hex").slice(0, 16)}`
  // Asked on every call: made once per script.
  const names = new Map(scripts.map((script) => [script.name, `${name}${suffix(script.name)}`]))
  const functionName = (scriptName: string) => names.get(scriptName) ?? `${name}${suffix(scriptName)}`
  return { name, source: text.replaceAll(unnamed, name), functionName }
}

/** Whether a failed call failed because the server lacks the function. */
const isMissing = (error: unknown) => error instanceof Error && error.message.startsWith("ERR Function not found")

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The names of the eddy libraries a server holds. */
const eddyLibraries = async (node: Redis): Promise<Array<string>> => {
  const listed = (await node.call("FUNCTION", "LIST", "LIBRARYNAME", `${prefix}*`)) as ReadonlyArray<
    ReadonlyArray<unknown>
  >
  return listed.flatMap((fields) => {
    const at = fields.indexOf("library_name")
    const name = at < 0 ? undefined : fields[at + 1]
    return typeof name === "string" && name.startsWith(prefix) ? [name] : []
  })
}

/**
 * Loads `library` into the server (on a cluster, into every master), unless it is there already.
 * Where other versions' libraries number more than `keptLibraries`, deletes them all. A master
 * that fails the load fails no call: a call to it finds the function missing and loads again.
 */
export const load = async (redis: Redis | Cluster, library: Library): Promise<void> => {
  const nodes = "nodes" in redis && typeof redis.nodes === "function" ? redis.nodes("master") : [redis as Redis]
  await Promise.allSettled(
    nodes.map(async (node) => {
      try {
        await node.call("FUNCTION", "LOAD", library.source)
      } catch (error) {
        // Another process loaded it first.
        if (!message(error).includes("already exists")) throw error
      }
      const others = (await eddyLibraries(node)).filter((name) => name !== library.name)
      if (others.length > keptLibraries)
        await Promise.all(
          // Another process may have deleted it first.
          others.map((name) => node.call("FUNCTION", "DELETE", name).catch(() => undefined)),
        )
    }),
  )
}

/** Loads under way, per client: calls that miss at once share one load. */
const loading = new WeakMap<Redis | Cluster, Promise<void>>()

const loadOnce = (redis: Redis | Cluster, library: Library): Promise<void> => {
  const pending = loading.get(redis)
  if (pending !== undefined) return pending
  const started = load(redis, library).finally(() => loading.delete(redis))
  loading.set(redis, started)
  return started
}

/** Loads before a call gives up: another version's load may delete ours between ours and the call. */
const loadAttempts = 3

/** Calls script `scriptName` of `library` by FCALL, loading the library first where it is missing. */
export const call = async (
  redis: Redis | Cluster,
  library: Library,
  scriptName: string,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>,
): Promise<unknown> => {
  const name = library.functionName(scriptName)
  for (let attempt = 1; ; attempt++) {
    try {
      return await redis.fcall(name, keys.length, ...keys, ...args)
    } catch (error) {
      if (!isMissing(error) || attempt > loadAttempts) throw error
      await loadOnce(redis, library)
    }
  }
}
