/**
 * The scripts' function library against a real Redis: loaded where it is missing, state that a
 * call must not inherit from the one before, and other versions' libraries kept within a bound.
 * Each test builds a library of its own, so the library the other suites use is left alone
 * (except by the bound, which their calls survive by loading theirs again).
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Redis } from "ioredis"
import * as ScriptLibrary from "../src/internal/ScriptLibrary.js"
import * as Scripts from "../src/Scripts.js"
import { freePort } from "./support/FreePort.js"
import * as TestRedis from "./support/TestRedis.js"

const redis = new Redis(TestRedis.url())
afterAll(() => redis.quit())

/** A library of its own: one script answering with `body`. */
const libraryOf = (body: string) =>
  ScriptLibrary.build(Scripts.prelude, [{ name: "probe", body: `-- ${randomUUID()}\n${body}`, readOnly: false }])

/** The read model's keys of one actor, as the scripts take them. */
const modelKeys = {
  rates: "{p0}:rates",
  listQueued: "{p0}:lq",
  listDelayed: "{p0}:ld",
  listActive: "{p0}:la",
  listRetrying: "{p0}:lr",
  listSucceeded: "{p0}:ls",
  listDeadLettered: "{p0}:lx",
  listCancelled: "{p0}:lc",
}

/** A library of another eddy version, as far as the prefix tells. */
const loadOther = (name: string) =>
  redis.call("FUNCTION", "LOAD", `#!lua name=${name}\nredis.register_function('${name}_f', function() return 1 end)`)

const eddyLibraries = async () =>
  ((await redis.call("FUNCTION", "LIST", "LIBRARYNAME", "eddy_*")) as ReadonlyArray<ReadonlyArray<unknown>>).map(
    (fields) => String(fields[fields.indexOf("library_name") + 1]),
  )

describe("script library", () => {
  it("is loaded by the first call that misses it, and again after it was deleted", async () => {
    const library = libraryOf("return { KEYS[1], ARGV[1] }")
    expect(await eddyLibraries()).not.toContain(library.name)
    expect(await ScriptLibrary.call(redis, library, "probe", ["k"], ["a"])).toEqual(["k", "a"])
    expect(await eddyLibraries()).toContain(library.name)
    await redis.call("FUNCTION", "DELETE", library.name)
    expect(await ScriptLibrary.call(redis, library, "probe", ["k"], ["b"])).toEqual(["k", "b"])
    await redis.call("FUNCTION", "DELETE", library.name)
  })

  it("calls that miss at once all get their answer", async () => {
    const library = libraryOf("return ARGV[1]")
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ScriptLibrary.call(redis, library, "probe", [], [String(i)])),
    )
    expect(answers).toEqual(Array.from({ length: 8 }, (_, i) => String(i)))
    await redis.call("FUNCTION", "DELETE", library.name)
  })

  it("a call starts afresh: the server's time is read again, and a call that failed leaves nothing behind", async () => {
    // now_ms caches the time for one call; use_model sets the model a call folds into.
    const library = libraryOf(
      "if ARGV[1] == 'fail' then use_model('r', 'a', 'b', 'c', 'd', 'e', 'f', 'g') redis.call('NOPE') end\n" +
        "return { now_ms(), model == nil and 1 or 0 }",
    )
    const [first] = (await ScriptLibrary.call(redis, library, "probe", [], ["ok"])) as Array<number>
    await expect(ScriptLibrary.call(redis, library, "probe", [], ["fail"])).rejects.toThrow(/Unknown Redis command/)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const [second, noModel] = (await ScriptLibrary.call(redis, library, "probe", [], ["ok"])) as Array<number>
    expect(second).toBeGreaterThanOrEqual((first ?? 0) + 5)
    expect(noModel).toBe(1)
    await redis.call("FUNCTION", "DELETE", library.name)
  })

  it("keeps other versions' libraries up to the bound, and drops them past it", async () => {
    const fakes = Array.from({ length: ScriptLibrary.keptLibraries + 1 }, () => `eddy_test${randomUUID().slice(0, 8)}`)
    for (const name of fakes) await loadOther(name)
    const ours = libraryOf("return 1")
    await ScriptLibrary.call(redis, ours, "probe", [], [])
    const left = await eddyLibraries()
    expect(left).toContain(ours.name)
    for (const name of fakes) expect(left).not.toContain(name)

    // Within the bound, nothing else goes.
    const kept = fakes.slice(0, 2)
    for (const name of kept) await loadOther(name)
    const next = libraryOf("return 2")
    await ScriptLibrary.call(redis, next, "probe", [], [])
    const now = await eddyLibraries()
    for (const name of [...kept, ours.name, next.name]) expect(now).toContain(name)
    for (const name of [...kept, ours.name, next.name]) await redis.call("FUNCTION", "DELETE", name)
  })

  it("a changed script is a new library, so two versions never call each other's functions", () => {
    const a = ScriptLibrary.build(Scripts.prelude, [{ name: "probe", body: "return 1", readOnly: false }])
    const b = ScriptLibrary.build(Scripts.prelude, [{ name: "probe", body: "return 2", readOnly: false }])
    expect(a.name).not.toBe(b.name)
    expect(a.functionName("probe")).not.toBe(b.functionName("probe"))
    expect(ScriptLibrary.build(Scripts.prelude, [{ name: "probe", body: "return 1", readOnly: false }]).name).toBe(
      a.name,
    )
    // A flag is part of the library too: a server holding the old one must get the new one.
    const oom = ScriptLibrary.build(Scripts.prelude, [
      { name: "probe", body: "return 1", readOnly: false, allowOom: true },
    ])
    expect(oom.name).not.toBe(a.name)
    expect(oom.source).toContain("flags = { 'allow-oom' }")
    expect(oom.source).not.toContain("eddy_LIBRARY")
  })

  it("over Redis's memory limit, what frees memory or keeps leases still runs; what adds jobs is refused whole", async () => {
    const port = await freePort()
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
      { stdio: "ignore" },
    )
    const full = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 })
    // The first connection attempts may come before the server listens; ioredis retries.
    full.on("error", () => {})
    try {
      await full.ping()
      // Load the library first (loading is itself refused once the server is full), then fill it.
      expect(await Scripts.run(full, Scripts.listSize, { keys: { list: "l" }, args: {} })).toEqual([0])
      // Clearly over the limit: 2 MB of data, then a limit of 1 MB.
      await full.mset(...Array.from({ length: 2_000 }, (_, i) => [`filler:${i}`, "x".repeat(1_000)]).flat())
      await full.config("SET", "maxmemory", "1mb")
      await expect(full.set("one-more", "x")).rejects.toThrow(/OOM/)
      const rates = "{p0}:rates"
      expect(
        await Scripts.run(full, Scripts.expire, {
          keys: { jobs: "{p0}:jobs", rates },
          args: { limit: 10, retentionMs: 1000, deadLetterRetentionMs: 1000 },
        }),
      ).toBe(0)
      expect(
        await Scripts.run(full, Scripts.renew, {
          keys: { jobs: "{p0}:jobs", inbox: "{p0}:inbox" },
          args: { group: "g", consumer: "c" },
        }),
      ).toEqual([])
      await expect(
        Scripts.run(full, Scripts.promote, {
          keys: { delayed: "{p0}:d", inbox: "{p0}:i", jobs: "{p0}:jobs", events: "{p0}:e", ...modelKeys },
          args: { limit: 10, eventsMaxLen: 1000 },
        }),
      ).rejects.toThrow(/OOM/)
    } finally {
      full.disconnect()
      server.kill("SIGKILL")
    }
  })
})
