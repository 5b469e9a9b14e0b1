/**
 * A throwaway or local `redis-server`, run as a child process for the life of a Scope.
 *
 * Used by `npm start` when `EDDY_REDIS_URL` is unset and by the test harness. AOF is on (so an
 * acknowledged submission survives a restart), eviction is off (a job queue must never lose keys
 * to memory pressure), and the server cannot outlive its parent, even one killed by SIGKILL:
 * see `internal/redis-supervisor.sh`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Duration, Effect, Schedule, type Scope } from "effect"

/** How the embedded server is started. Every field has a default. */
export interface Options {
  /** Data directory; created if missing. Default `.eddy/redis`; ignored when `ephemeral`. */
  readonly dir?: string
  /** A fresh temp directory, removed when the scope closes (tests). */
  readonly ephemeral?: boolean
  /** TCP port on 127.0.0.1. Default: a free port. */
  readonly port?: number
  /** AOF fsync policy. `always` trades throughput for losing nothing on power loss. */
  readonly appendfsync?: "everysec" | "always"
  /** The server binary. Default `redis-server` from PATH. */
  readonly binary?: string
  /** How long to wait for the server to answer PING. Default 10 s. */
  readonly startTimeout?: Duration.DurationInput
  /** Time between SIGTERM and SIGKILL when stopping. Default 5 s. */
  readonly stopGrace?: Duration.DurationInput
  /** More `redis-server` arguments, after ours (a test cluster's `--cluster-enabled yes`). */
  readonly args?: ReadonlyArray<string>
}

/** A running embedded server. */
export interface EmbeddedRedis {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly dir: string
}

/** The server could not be started: binary missing, port taken, or no answer in time. */
export class EmbeddedRedisError extends Data.TaggedError("EmbeddedRedisError")<{
  readonly message: string
}> {}

// tsc does not copy the script into `dist/`; the built module finds it in the shipped `src/`.
const supervisorScript = [
  fileURLToPath(new URL("./internal/redis-supervisor.sh", import.meta.url)),
  fileURLToPath(new URL("../src/internal/redis-supervisor.sh", import.meta.url)),
].find(existsSync)

/** Asks the OS for a free port. Another process may take it before Redis binds; `start` retries. */
const freePort = Effect.async<number, EmbeddedRedisError>((resume) => {
  const server = createServer()
  server.unref()
  server.on("error", (error) => resume(Effect.fail(new EmbeddedRedisError({ message: error.message }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * One raw PING, then INFO, over TCP; no client library needed to tell whether the server is up.
 * The server must be ours (`process_id` is `pid`): with a fixed port, another Redis already on it
 * would answer PING while ours is failing to bind.
 */
const ping = (port: number, pid: number) =>
  Effect.async<void, EmbeddedRedisError>((resume) => {
    const socket = createConnection({ port, host: "127.0.0.1" })
    let received = ""
    const done = (error?: string) => {
      socket.destroy()
      resume(error === undefined ? Effect.void : Effect.fail(new EmbeddedRedisError({ message: error })))
    }
    socket.setTimeout(500, () => done("PING timed out"))
    socket.on("error", (error) => done(error.message))
    socket.on("close", () => done("connection closed"))
    socket.on("data", (data) => {
      received += data.toString()
      const pong = "+PONG\r\n"
      if (!received.startsWith(pong)) {
        if (!pong.startsWith(received)) done(`PING answered ${received.split("\r\n")[0]}`)
        return
      }
      const match = /process_id:(\d+)\r\n/.exec(received)
      if (match === null) return
      done(Number(match[1]) === pid ? undefined : `port ${port} is served by another process (pid ${match[1]})`)
    })
    socket.write("PING\r\nINFO server\r\n")
    return Effect.sync(() => socket.destroy())
  })

const logTail = (dir: string) => {
  const file = join(dir, "redis.log")
  if (!existsSync(file)) return ""
  return readFileSync(file, "utf8").trim().split("\n").slice(-3).join(" | ")
}

const serverArgs = (port: number, dir: string, appendfsync: string) => [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--dir",
  dir,
  "--logfile",
  "redis.log",
  "--daemonize",
  "no",
  "--appendonly",
  "yes",
  "--appendfsync",
  appendfsync,
  "--maxmemory-policy",
  "noeviction",
  "--save",
  "",
]

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** Starts the supervisor and reads Redis's pid from its first line of output. */
const spawnSupervised = (binary: string, args: ReadonlyArray<string>, graceTicks: number) =>
  Effect.async<{ child: ChildProcess; pid: number }, EmbeddedRedisError>((resume) => {
    // detached: a Ctrl-C in the terminal goes to our process group; the server must stop through
    // the scope (after workers released their jobs), not on its own.
    if (supervisorScript === undefined) {
      resume(Effect.fail(new EmbeddedRedisError({ message: "redis-supervisor.sh not found" })))
      return
    }
    const child = spawn("sh", [supervisorScript, String(graceTicks), binary, ...args], {
      stdio: ["pipe", "pipe", "ignore"],
      detached: true,
    })
    let output = ""
    child.once("error", (error) => resume(Effect.fail(new EmbeddedRedisError({ message: error.message }))))
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const line = output.split("\n")[0]
      if (output.includes("\n") && line !== undefined) resume(Effect.succeed({ child, pid: Number(line) }))
    })
    child.once("exit", () => resume(Effect.fail(new EmbeddedRedisError({ message: "supervisor exited early" }))))
  })

const stopSupervised = (child: ChildProcess, redisPid: number, grace: Duration.Duration) =>
  Effect.async<void>((resume) => {
    if (exited(child)) {
      resume(Effect.void)
      return
    }
    // The supervisor gives Redis its grace; this timer only guards against a wedged supervisor.
    const backstop = setTimeout(() => {
      for (const pid of [redisPid, child.pid]) {
        try {
          if (pid !== undefined && pid > 0) process.kill(pid, "SIGKILL")
        } catch {
          // already gone
        }
      }
    }, Duration.toMillis(grace) + 2_000)
    child.once("exit", () => {
      clearTimeout(backstop)
      resume(Effect.void)
    })
    child.stdin?.end()
  })

const waitUntilReady = (child: ChildProcess, port: number, pid: number, dir: string, startTimeout: Duration.Duration) =>
  ping(port, pid).pipe(
    Effect.filterOrFail(
      () => !exited(child),
      () => new EmbeddedRedisError({ message: "redis-server exited" }),
    ),
    Effect.retry({ schedule: Schedule.spaced("25 millis"), while: () => !exited(child) }),
    Effect.timeoutFail({
      duration: startTimeout,
      onTimeout: () => new EmbeddedRedisError({ message: `no answer within ${Duration.format(startTimeout)}` }),
    }),
    Effect.mapError(
      (error) =>
        new EmbeddedRedisError({
          message: `redis-server on port ${port} did not start: ${error.message}. ${logTail(dir)}`,
        }),
    ),
  )

/** Spawns and waits for PING; a server that never answers is stopped before the error returns. */
const startOnce = (options: Options, dir: string) =>
  Effect.gen(function* () {
    const port = options.port ?? (yield* freePort)
    const grace = Duration.decode(options.stopGrace ?? "5 seconds")
    const args = [...serverArgs(port, dir, options.appendfsync ?? "everysec"), ...(options.args ?? [])]
    const startTimeout = Duration.decode(options.startTimeout ?? "10 seconds")
    const { pid } = yield* Effect.acquireRelease(
      // Whole ticks: the supervisor compares them with `[ -gt ]`, which takes integers only.
      spawnSupervised(options.binary ?? "redis-server", args, Math.ceil(Duration.toMillis(grace) / 100)).pipe(
        Effect.tap(({ child, pid }) =>
          waitUntilReady(child, port, pid, dir, startTimeout).pipe(
            Effect.onError(() => stopSupervised(child, pid, grace)),
          ),
        ),
      ),
      ({ child, pid }) => stopSupervised(child, pid, grace),
    )
    return { url: `redis://127.0.0.1:${port}`, port, pid, dir } satisfies EmbeddedRedis
  })

/**
 * Starts `redis-server` and stops it (SIGTERM, then SIGKILL after the grace) when the scope
 * closes. With no port given, a port conflict is retried on another free port.
 */
export const start = (options: Options = {}): Effect.Effect<EmbeddedRedis, EmbeddedRedisError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = options.ephemeral
      ? yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "eddy-redis-"))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
        )
      : resolve(options.dir ?? ".eddy/redis")
    mkdirSync(dir, { recursive: true })
    const attempt = startOnce(options, dir)
    return yield* options.port === undefined ? attempt.pipe(Effect.retry({ times: 2 })) : attempt
  })

/** Where a running embedded server advertises its URL, beside its data. */
export const urlFile = (dir: string): string => join(resolve(dir), "url")

/**
 * Advertises the server's URL in its data directory for as long as the scope lives, so other
 * processes on this machine (the CLI, extra workers) can find a running `npm start`.
 */
export const advertise = (server: EmbeddedRedis): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => writeFileSync(urlFile(server.dir), `${server.url}\n`)),
    () => Effect.sync(() => rmSync(urlFile(server.dir), { force: true })),
  )

/** The URL a running embedded server advertises in `dir`, if any. */
export const advertised = (dir: string): string | undefined => {
  try {
    return readFileSync(urlFile(dir), "utf8").trim() || undefined
  } catch {
    return undefined
  }
}
