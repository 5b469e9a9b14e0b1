import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Duration, Effect, Exit, Fiber, HashMap, Logger, Redacted, Schedule, Scope } from "effect"
import { Redis } from "ioredis"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"
import * as RedisClient from "../src/RedisClient.js"
import * as TestRedis from "./support/TestRedis.js"

interface Entry {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** A logger that keeps what it is given, to count the client's state-change messages. */
const collectLogs = () => {
  const entries: Array<Entry> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    entries.push({
      level: logLevel.label,
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
    })
  })
  return { entries, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** A scope of our own, closed by the test (and, as a backstop, when the test ends). */
const ownScope = Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))

/** A temp directory removed when the test ends. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "eddy-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
)

/** An independent connection to look at a server; closed with the test's scope. */
const observe = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
    (redis) => Effect.sync(() => redis.disconnect()),
  )

/** The `CLIENT LIST` entries of connections named `<name>:…`, as their names and commands. */
const connectionsOf = (observer: Redis, name: string) =>
  Effect.promise(() => observer.client("LIST") as Promise<string>).pipe(
    Effect.map((list) =>
      list
        .split("\n")
        .map((line) => ({
          name: /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "",
          cmd: /(?:^| )cmd=(\S*)/.exec(line)?.[1] ?? "",
        }))
        .filter((client) => client.name.startsWith(`${name}:`)),
    ),
  )

const uniqueName = (label: string) => `eddy-test:${TestRedis.uniquePrefix(label)}`

/** Retries `effect` every 100 ms for up to `within`. */
const eventually = <A, E>(effect: Effect.Effect<A, E>, within: Duration.DurationInput = "10 seconds") =>
  effect.pipe(
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({ duration: within, onTimeout: () => `not within ${Duration.format(within)}` }),
  )

/** Fails until `predicate` holds. */
const check = <A>(effect: Effect.Effect<A>, predicate: (a: A) => boolean) =>
  effect.pipe(Effect.filterOrFail(predicate, (a) => `condition not met: ${JSON.stringify(a)}`))

describe("RedisClient", () => {
  it.scopedLive("runs commands; health answers with the round trip; display masks the password", () =>
    Effect.gen(function* () {
      const port = new URL(TestRedis.url()).port
      // The test server has no password; Redis accepts any password for its password-less default user.
      const client = yield* RedisClient.make({
        url: Redacted.make(`redis://:s3cret@127.0.0.1:${port}`),
        timeout: "2 seconds",
        name: uniqueName("run"),
      })
      expect(client.display).toBe(`redis://:***@127.0.0.1:${port}`)
      expect(Duration.toMillis(client.timeout)).toBe(2_000)
      const key = TestRedis.uniquePrefix("run")
      expect(yield* client.run((redis) => redis.set(`${key}:a`, "1"))).toBe("OK")
      expect(yield* client.run((redis) => redis.incr(`${key}:a`))).toBe(2)
      expect(yield* client.run((redis) => redis.get(`${key}:a`))).toBe("2")
      expect(yield* client.isUp).toBe(true)

      const roundTrip = yield* client.health
      expect(Duration.isDuration(roundTrip)).toBe(true)
      expect(Duration.toMillis(roundTrip)).toBeGreaterThanOrEqual(0)
      expect(Duration.toMillis(roundTrip)).toBeLessThan(2_000)
    }),
  )

  it.scopedLive("a command error is RedisCommandFailed, not RedisUnavailable", () =>
    Effect.gen(function* () {
      const client = yield* RedisClient.make({ url: Redacted.make(TestRedis.url()), name: uniqueName("error") })
      const key = TestRedis.uniquePrefix("error")
      yield* client.run((redis) => redis.set(key, "not a number"))
      const error = yield* Effect.flip(client.run((redis) => redis.incr(key)))
      expect(error._tag).toBe("RedisCommandFailed")
      expect(error).toBeInstanceOf(RedisClient.RedisCommandFailed)
      expect(error.message).toContain("not an integer")
      // The connection is fine afterwards.
      expect(yield* client.run((redis) => redis.get(key))).toBe("not a number")
    }),
  )

  it.scopedLive(
    "in an outage calls fail with RedisUnavailable within the bound; the client recovers by itself, logging lost and back once each",
    () => {
      const logs = collectLogs()
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
      return Effect.gen(function* () {
        yield* Effect.acquireRelease(
          Effect.sync(() => process.on("warning", onWarning)),
          () => Effect.sync(() => process.off("warning", onWarning)),
        )
        const dir = yield* tempDir
        const first = yield* ownScope
        const server = yield* EmbeddedRedis.start({ dir }).pipe(Scope.extend(first))
        const client = yield* RedisClient.make({
          url: Redacted.make(server.url),
          timeout: "1 second",
          name: uniqueName("outage"),
        })
        yield* client.run((redis) => redis.set("kept", "before the outage"))

        yield* Scope.close(first, Exit.void)
        const outageStarted = Date.now()

        let started = Date.now()
        const error = yield* Effect.flip(client.run((redis) => redis.get("kept")))
        expect(error._tag).toBe("RedisUnavailable")
        expect(Date.now() - started).toBeLessThan(1_000 + 3_000)
        expect(yield* client.isUp).toBe(false)

        // Many callers at once: every one gets its answer within the bound.
        started = Date.now()
        const errors = yield* Effect.forEach(
          Arr.range(1, 50),
          () => Effect.flip(client.run((redis) => redis.get("kept"))),
          { concurrency: "unbounded" },
        )
        expect(errors.every((error) => error._tag === "RedisUnavailable")).toBe(true)
        expect(Date.now() - started).toBeLessThan(1_000 + 3_000)
        expect((yield* Effect.flip(client.health))._tag).toBe("RedisUnavailable")

        // Keep the server away long enough for several reconnect attempts (backoff from 50 ms).
        yield* Effect.sleep(Duration.millis(Math.max(0, 2_500 - (Date.now() - outageStarted))))
        yield* EmbeddedRedis.start({ dir, port: server.port })

        // Same client, no help: it reconnects, and the AOF kept the key across the restart.
        expect(yield* eventually(client.run((redis) => redis.get("kept")))).toBe("before the outage")
        expect(yield* client.isUp).toBe(true)
        yield* client.health

        const lost = logs.entries.filter((entry) => entry.message.includes("connection lost"))
        const back = logs.entries.filter((entry) => entry.message.includes("connection back"))
        expect(lost).toHaveLength(1)
        expect(lost[0]?.level).toBe("WARN")
        expect(lost[0]?.annotations.connection).toBe("command")
        expect(lost[0]?.annotations.redis).toBe(server.url)
        expect(back).toHaveLength(1)
        expect(back[0]?.level).toBe("INFO")
        const outage = Number(/after (\d+) ms/.exec(back[0]?.message ?? "")?.[1])
        expect(outage).toBeGreaterThanOrEqual(2_000)
        // No per-attempt noise at any level.
        expect(logs.entries.filter((entry) => entry.level === "WARN" || entry.level === "ERROR")).toHaveLength(1)
        expect(warnings.filter((warning) => warning.includes("MaxListeners"))).toEqual([])
      }).pipe(Effect.provide(logs.layer))
    },
  )

  it.scopedLive("commands in flight when the server goes away fail with RedisUnavailable at once", () => {
    const logs = collectLogs()
    return Effect.gen(function* () {
      const scope = yield* ownScope
      const server = yield* EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope))
      const name = uniqueName("inflight")
      const client = yield* RedisClient.make({ url: Redacted.make(server.url), timeout: "5 seconds", name })
      const observer = yield* observe(server.url)
      const key = TestRedis.uniquePrefix("inflight")

      const onCommand = yield* Effect.fork(
        client.run((redis) => redis.xread("BLOCK", 4_000, "STREAMS", `${key}:a`, "$")),
      )
      // The blocking connection is opened by this first call, made with annotations of its own.
      const onBlocking = yield* Effect.fork(
        client
          .blocking("4 seconds", (redis) => redis.xread("BLOCK", 4_000, "STREAMS", `${key}:b`, "$"))
          .pipe(Effect.annotateLogs({ jobId: "first-caller" })),
      )
      // Both reads are waiting inside Redis.
      yield* eventually(
        check(connectionsOf(observer, name), (clients) => clients.filter((c) => c.cmd === "xread").length === 2),
        "5 seconds",
      )
      observer.disconnect()

      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const onCommandExit = yield* Fiber.await(onCommand)
      const onBlockingExit = yield* Fiber.await(onBlocking)
      // Well before the 4 s block or the 5 s bound would end them.
      expect(Date.now() - started).toBeLessThan(3_000)
      for (const exit of [onCommandExit, onBlockingExit]) {
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause : undefined
        expect(JSON.stringify(error)).toContain('"_tag":"RedisUnavailable"')
      }
      // Each connection logs its loss once, as the client's connection, not as its first caller's.
      const lost = logs.entries.filter((entry) => entry.message.includes("connection lost"))
      expect(lost.map((entry) => entry.annotations.connection).toSorted()).toEqual(["blocking", "command"])
      expect(lost.every((entry) => entry.annotations.jobId === undefined)).toBe(true)
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("a client under concurrent load with blocking reads holds at most two connections", () =>
    Effect.gen(function* () {
      const name = uniqueName("budget")
      const client = yield* RedisClient.make({ url: Redacted.make(TestRedis.url()), name })
      const observer = yield* observe(TestRedis.url())
      const key = TestRedis.uniquePrefix("budget")

      const samples: Array<number> = []
      const sampler = yield* Effect.fork(
        connectionsOf(observer, name).pipe(
          Effect.tap((clients) => samples.push(clients.length)),
          Effect.zipRight(Effect.sleep("20 millis")),
          Effect.forever,
        ),
      )
      const [counts, reads] = yield* Effect.all(
        [
          Effect.forEach(Arr.range(1, 200), () => client.run((redis) => redis.incr(`${key}:n`)), {
            concurrency: "unbounded",
          }),
          Effect.forEach(
            Arr.range(1, 6),
            () => client.blocking("100 millis", (redis) => redis.xread("BLOCK", 100, "STREAMS", `${key}:s`, "$")),
            { concurrency: "unbounded" },
          ),
        ],
        { concurrency: "unbounded" },
      )
      yield* Fiber.interrupt(sampler)

      expect(counts.toSorted((a, b) => a - b)).toEqual(Arr.range(1, 200))
      expect(reads).toEqual(Arr.replicate(null, 6))
      expect(samples.length).toBeGreaterThan(0)
      expect(Math.max(...samples)).toBeLessThanOrEqual(2)
      const clients = yield* connectionsOf(observer, name)
      expect(clients.map((client) => client.name).toSorted()).toEqual([`${name}:block`, `${name}:cmd`])
    }),
  )

  it.scopedLive("a command goes out while an earlier one still runs; the commands of one tick leave in one write", () =>
    Effect.gen(function* () {
      const client = yield* RedisClient.make({ url: Redacted.make(TestRedis.url()), name: uniqueName("writes") })
      // Every write that reaches the command connection's socket, and when.
      const writes: Array<number> = []
      yield* client.run(async (redis) => {
        // The socket's own write methods (Node's stream internals): each call is one system call.
        const stream = (redis as Redis).stream as unknown as Record<string, (...args: Array<unknown>) => void>
        for (const method of ["_write", "_writev"]) {
          const original = (stream[method] as (...args: Array<unknown>) => void).bind(stream)
          stream[method] = (...args) => {
            writes.push(performance.now())
            original(...args)
          }
        }
      })

      // A script that keeps Redis busy for a while (~100 ms); a PING sent meanwhile must not wait
      // for its answer to go out (auto-pipelining held it back until then).
      const busy = "local i = 0 while i < 10000000 do i = i + 1 end return i"
      const slow = yield* Effect.fork(client.run((redis) => redis.eval(busy, 0)))
      yield* Effect.sleep("5 millis")
      const before = writes.length
      const ping = yield* Effect.fork(client.run((redis) => redis.ping()))
      yield* Effect.sleep("5 millis")
      expect(slow.unsafePoll()).toBeNull()
      expect(writes.length).toBe(before + 1)
      expect(yield* Fiber.join(slow)).toBe(10_000_000)
      expect(yield* Fiber.join(ping)).toBe("PONG")

      const batch = writes.length
      const pongs = yield* Effect.all(
        Arr.range(1, 20).map(() => client.run((redis) => redis.ping())),
        { concurrency: "unbounded" },
      )
      expect(pongs).toEqual(Arr.replicate("PONG", 20))
      expect(writes.length - batch).toBe(1)
    }),
  )

  it.scopedLive("a producer-only client holds exactly one connection, closed with its scope", () =>
    Effect.gen(function* () {
      const name = uniqueName("producer")
      const observer = yield* observe(TestRedis.url())
      const key = TestRedis.uniquePrefix("producer")
      const scope = yield* ownScope
      const client = yield* RedisClient.make({ url: Redacted.make(TestRedis.url()), name }).pipe(Scope.extend(scope))

      yield* Effect.forEach(Arr.range(1, 100), (i) => client.run((redis) => redis.xadd(key, "*", "i", String(i))), {
        concurrency: "unbounded",
      })
      yield* client.health
      expect(yield* client.run((redis) => redis.xlen(key))).toBe(100)
      const clients = yield* connectionsOf(observer, name)
      expect(clients.map((client) => client.name)).toEqual([`${name}:cmd`])

      yield* Scope.close(scope, Exit.void)
      yield* eventually(
        check(connectionsOf(observer, name), (clients) => clients.length === 0),
        "3 seconds",
      )
    }),
  )
})

describe("RedisClient against a hung server", () => {
  it.scopedLive("a call to a server that stopped answering fails with RedisUnavailable within the bound", () =>
    Effect.gen(function* () {
      const server = yield* EmbeddedRedis.start({ ephemeral: true })
      const client = yield* RedisClient.make({
        url: Redacted.make(server.url),
        timeout: "500 millis",
        name: "hung-probe",
      })
      expect(yield* client.run((c) => c.ping())).toBe("PONG")
      process.kill(server.pid, "SIGSTOP")
      const started = Date.now()
      const error = yield* Effect.flip(client.run((c) => c.get("k"))).pipe(
        Effect.ensuring(Effect.sync(() => process.kill(server.pid, "SIGCONT"))),
      )
      expect(error._tag).toBe("RedisUnavailable")
      expect(Date.now() - started).toBeLessThan(3_000)
      yield* Effect.sleep("100 millis")
      expect(yield* client.run((c) => c.ping())).toBe("PONG")
    }),
  )

  it.scopedLive(
    "a blocking read on a server that stopped answering fails with RedisUnavailable past its block and the bound",
    () =>
      Effect.gen(function* () {
        const server = yield* EmbeddedRedis.start({ ephemeral: true })
        const client = yield* RedisClient.make({
          url: Redacted.make(server.url),
          timeout: "300 millis",
          name: "hung-read",
        })
        const read = (client: RedisClient.RedisClientService) =>
          client.blocking("200 millis", (c) => c.xread("BLOCK", 200, "STREAMS", "s", "$"))
        expect(yield* read(client)).toBeNull()
        process.kill(server.pid, "SIGSTOP")
        const started = Date.now()
        const error = yield* Effect.flip(read(client)).pipe(
          Effect.ensuring(Effect.sync(() => process.kill(server.pid, "SIGCONT"))),
        )
        expect(error._tag).toBe("RedisUnavailable")
        expect(Date.now() - started).toBeGreaterThanOrEqual(450)
        expect(Date.now() - started).toBeLessThan(3_000)
      }),
  )

  it.scopedLive("a call made uninterruptibly (as in a shutdown's finalizer) still fails within the bound", () =>
    Effect.gen(function* () {
      const scope = yield* ownScope
      const server = yield* EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope))
      const client = yield* RedisClient.make({ url: Redacted.make(server.url), timeout: "300 millis", name: "final" })
      expect(yield* client.run((c) => c.ping())).toBe("PONG")
      yield* Scope.close(scope, Exit.void)
      // Redis is gone: the call waits for a connection that does not come, and must give up.
      const exit = yield* client
        .run((c) => c.get("k"))
        .pipe(Effect.uninterruptible, Effect.exit, Effect.timeout("5 seconds"))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain('"_tag":"RedisUnavailable"')
    }),
  )
})
