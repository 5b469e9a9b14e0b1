import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule, Scope } from "effect"
import { Redis } from "ioredis"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..", "..")

/** Whether `pid` is a live process (a zombie, already dead and only waiting to be reaped, is not). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

/** Polls until `pid` is gone; fails after `within`. */
const gone = (pid: number, within: Duration.DurationInput) =>
  Effect.suspend(() => (alive(pid) ? Effect.fail(`pid ${pid} still alive`) : Effect.void)).pipe(
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => `pid ${pid} still alive after ${Duration.format(within)}`,
    }),
  )

/** A scope of our own, closed by the test (and, as a backstop, when the test ends). */
const ownScope = Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))

/** An independent connection to look at a server; closed with the test's scope. */
const observe = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false })),
    (redis) => Effect.sync(() => redis.disconnect()),
  )

const configGet = (redis: Redis, parameter: string) =>
  Effect.promise(() => redis.config("GET", parameter) as Promise<Array<string>>).pipe(Effect.map((pair) => pair[1]))

/** A temp directory removed when the test ends. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "eddy-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
)

/** Holds a TCP port on 127.0.0.1 until the test ends. */
const holdPort = Effect.acquireRelease(
  Effect.async<{ server: Server; sockets: Set<Socket> }>((resume) => {
    // Accepts connections and never answers, like a program that is not Redis.
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    }),
).pipe(
  Effect.map(({ server }) => server),
  Effect.map((server) => {
    const address = server.address()
    return typeof address === "object" && address !== null ? address.port : 0
  }),
)

describe("EmbeddedRedis", () => {
  it.scopedLive("starts with AOF, noeviction and everysec; stops and removes its temp dir with the scope", () =>
    Effect.gen(function* () {
      const scope = yield* ownScope
      const server = yield* EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope))
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
      expect(server.dir.startsWith(realpathSync(tmpdir())) || server.dir.startsWith(tmpdir())).toBe(true)
      expect(existsSync(server.dir)).toBe(true)
      expect(alive(server.pid)).toBe(true)

      const redis = yield* observe(server.url)
      expect(yield* Effect.promise(() => redis.ping())).toBe("PONG")
      expect(yield* configGet(redis, "appendonly")).toBe("yes")
      expect(yield* configGet(redis, "maxmemory-policy")).toBe("noeviction")
      expect(yield* configGet(redis, "appendfsync")).toBe("everysec")
      expect(yield* configGet(redis, "bind")).toBe("127.0.0.1")
      expect(yield* configGet(redis, "dir")).toBe(realpathSync(server.dir))
      const info = yield* Effect.promise(() => redis.info("server"))
      expect(info).toContain(`process_id:${server.pid}\r\n`)
      redis.disconnect()

      yield* Scope.close(scope, Exit.void)
      yield* gone(server.pid, "1 second")
      expect(existsSync(server.dir)).toBe(false)
    }),
  )

  it.scopedLive("uses appendfsync always when asked", () =>
    Effect.gen(function* () {
      const server = yield* EmbeddedRedis.start({ ephemeral: true, appendfsync: "always" })
      const redis = yield* observe(server.url)
      expect(yield* configGet(redis, "appendfsync")).toBe("always")
      expect(yield* configGet(redis, "appendonly")).toBe("yes")
    }),
  )

  it.scopedLive(
    "keeps its data in the given dir, which survives a stop; a restart on the same port and dir finds the data",
    () =>
      Effect.gen(function* () {
        const dir = join(yield* tempDir, "nested", "data")
        const first = yield* ownScope
        const server = yield* EmbeddedRedis.start({ dir }).pipe(Scope.extend(first))
        expect(server.dir).toBe(dir)
        const redis = yield* observe(server.url)
        expect(yield* configGet(redis, "dir")).toBe(realpathSync(dir))
        yield* Effect.promise(() => redis.set("kept", "across restarts"))
        redis.disconnect()
        yield* Scope.close(first, Exit.void)
        yield* gone(server.pid, "1 second")
        expect(existsSync(join(dir, "appendonlydir"))).toBe(true)

        const again = yield* EmbeddedRedis.start({ dir, port: server.port })
        expect(again.port).toBe(server.port)
        expect(again.pid).not.toBe(server.pid)
        const observer = yield* observe(again.url)
        expect(yield* Effect.promise(() => observer.get("kept"))).toBe("across restarts")
      }),
  )

  it.scopedLive("fails with EmbeddedRedisError, without hanging, when a fixed port is taken by another program", () =>
    Effect.gen(function* () {
      const port = yield* holdPort
      const started = Date.now()
      const error = yield* Effect.flip(EmbeddedRedis.start({ ephemeral: true, port, startTimeout: "20 seconds" }))
      expect(error._tag).toBe("EmbeddedRedisError")
      expect(error).toBeInstanceOf(EmbeddedRedis.EmbeddedRedisError)
      expect(error.message).toContain(`port ${port}`)
      expect(error.message).toContain("Address already in use")
      // Well before the 20 s start timeout: the server's exit is noticed, not waited out.
      expect(Date.now() - started).toBeLessThan(10_000)
    }),
  )

  it.scopedLive(
    "fails with EmbeddedRedisError when a fixed port is taken by another Redis, not taking it for its own",
    () =>
      Effect.gen(function* () {
        const other = yield* EmbeddedRedis.start({ ephemeral: true })
        const started = Date.now()
        const error = yield* Effect.flip(
          EmbeddedRedis.start({ ephemeral: true, port: other.port, startTimeout: "20 seconds" }),
        )
        expect(error._tag).toBe("EmbeddedRedisError")
        expect(error.message).toContain("Address already in use")
        expect(Date.now() - started).toBeLessThan(10_000)
        // The other server is untouched.
        const redis = yield* observe(other.url)
        expect(yield* Effect.promise(() => redis.ping())).toBe("PONG")
        expect(alive(other.pid)).toBe(true)
      }),
  )

  it.scopedLive("fails with EmbeddedRedisError when the server binary does not exist", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const error = yield* Effect.flip(
        EmbeddedRedis.start({ ephemeral: true, binary: "/nonexistent/redis-server", startTimeout: "20 seconds" }),
      )
      expect(error._tag).toBe("EmbeddedRedisError")
      expect(error.message).toContain("did not start")
      expect(Date.now() - started).toBeLessThan(10_000)
    }),
  )

  it.scopedLive("kills a server that ignores SIGTERM once the stop grace is over", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const binary = join(dir, "stubborn-server")
      writeFileSync(
        binary,
        `#!/bin/sh\nexec "${process.execPath}" "${join(here, "fixtures", "stubborn-server.mjs")}" "$@"\n`,
      )
      chmodSync(binary, 0o755)
      const scope = yield* ownScope
      const server = yield* EmbeddedRedis.start({ ephemeral: true, binary, stopGrace: "250 millis" }).pipe(
        Scope.extend(scope),
      )
      expect(alive(server.pid)).toBe(true)
      const stopping = Date.now()
      yield* Scope.close(scope, Exit.void)
      const stopTook = Date.now() - stopping
      yield* gone(server.pid, "1 second")
      // The grace is 250 ms; the Node-side backstop would only fire after grace + 2 s.
      expect(stopTook).toBeLessThan(1_900)
    }),
  )

  it.live("leaves no redis-server behind when its parent process is killed with SIGKILL", () =>
    Effect.gen(function* () {
      const child = spawn(
        process.execPath,
        ["--conditions=@eddy/source", "--import", "tsx", join(here, "fixtures", "embedded-redis-child.ts")],
        { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
      )
      let server: { pid: number; port: number; dir: string } | undefined
      return yield* Effect.gen(function* () {
        server = yield* Effect.async<{ pid: number; port: number; dir: string }, string>((resume) => {
          let output = ""
          child.stdout?.on("data", (chunk: Buffer) => {
            output += chunk.toString()
            const newline = output.indexOf("\n")
            if (newline >= 0) resume(Effect.succeed(JSON.parse(output.slice(0, newline))))
          })
          child.once("exit", (code, signal) => resume(Effect.fail(`child exited early (${code ?? signal})`)))
        }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "child printed no pid" }))
        const { pid } = server
        expect(alive(pid)).toBe(true)

        const exited = Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) resume(Effect.void)
          else child.once("exit", () => resume(Effect.void))
        })
        child.kill("SIGKILL")
        yield* exited
        expect(child.signalCode).toBe("SIGKILL")
        yield* gone(pid, "5 seconds")
      }).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            // Clean up only what this test started: the child, and its server if it survived.
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
            if (server !== undefined) {
              if (alive(server.pid)) process.kill(server.pid, "SIGKILL")
              rmSync(server.dir, { recursive: true, force: true })
            }
          }),
        ),
      )
    }),
  )
})
