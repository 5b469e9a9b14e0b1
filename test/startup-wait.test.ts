import { EddyClient, EmbeddedRedis } from "@eddy/core"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { freePort } from "../packages/core/test/support/FreePort.js"
import { Nap } from "./fixtures/nap-worker.js"
import { killAll, startTop, type Top } from "./support/Processes.js"

const napWorker = "test/fixtures/nap-worker.ts"
const scopes: Array<Scope.CloseableScope> = []

afterEach(async () => {
  killAll()
  for (const scope of scopes.splice(0)) await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** A redis-server of the test's own, stopped after the test. */
const startRedis = async (port?: number) => {
  const scope = Effect.runSync(Scope.make())
  scopes.push(scope)
  return Effect.runPromise(
    EmbeddedRedis.start({ ephemeral: true, ...(port === undefined ? {} : { port }) }).pipe(Scope.extend(scope)),
  )
}

/** `eddy worker` (the CLI from its sources) hosting `nap`, against `url`. */
const startWorker = (url: string, env: Record<string, string> = {}) =>
  startTop(
    process.execPath,
    ["--conditions=@eddy/source", "--import", "tsx", "packages/cli/src/main.ts", "worker", napWorker],
    {
      EDDY_REDIS_URL: url,
      EDDY_PREFIX: "wait",
      EDDY_LOG_LEVEL: "info",
      EDDY_LOG_PRETTY: "false",
      ...env,
    },
  )

/** Submits a short `nap` and waits for its result: the worker serves. */
const napDone = async (url: string) => {
  const client = await EddyClient.connect({ url, prefix: "wait" })
  try {
    const { jobId } = await client.submit(Nap, { ms: 10 })
    return await client.resultOf(Nap, jobId, { timeout: "30 seconds" })
  } finally {
    await client.close()
  }
}

/** Stops the worker with SIGTERM; resolves with its exit code. */
const stop = async (worker: Top) => {
  process.kill(worker.pid, "SIGTERM")
  return (await worker.exited).code
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.sequential("a worker starting without Redis", () => {
  it("started before Redis is up, waits, then processes a job once Redis comes", async () => {
    const port = await freePort()
    const url = `redis://127.0.0.1:${port}`
    const worker = startWorker(url)
    await worker.waitFor("it to wait for Redis", (out) => out.includes(`waiting for Redis at ${url} before starting`))
    // Well past the old 2-3 s exit: still waiting.
    await sleep(4_000)
    expect(worker.isRunning(), worker.stderr()).toBe(true)

    await startRedis(port)
    expect(await napDone(url)).toEqual({ slept: 10 })
    expect(worker.stderr()).toMatch(/"msg":"Redis at \S+ is reachable after [^"]+; starting"/)
    // One line per state change, however many attempts the wait took.
    expect(worker.stderr().match(/waiting for Redis at/g)).toHaveLength(1)
    expect(await stop(worker)).toBe(0)
  }, 90_000)

  it("started while Redis is at maxclients, waits, saying so in Redis's words, then processes a job", async () => {
    const server = await startRedis()
    const admin = new Redis(server.url)
    try {
      // The admin connection holds the only slot.
      await admin.config("SET", "maxclients", "1")
      const worker = startWorker(server.url)
      await worker.waitFor("it to wait, saying why", (out) =>
        /waiting for Redis at \S+ before starting \(ERR max number of clients reached\)/.test(out),
      )
      await sleep(3_000)
      expect(worker.isRunning(), worker.stderr()).toBe(true)

      await admin.config("SET", "maxclients", "1000")
      expect(await napDone(server.url)).toEqual({ slept: 10 })
      expect(await stop(worker)).toBe(0)
    } finally {
      admin.disconnect()
    }
  }, 90_000)

  it("with bad credentials, exits 1 at once, naming EDDY_REDIS_URL and what Redis said", async () => {
    const server = await startRedis()
    const admin = new Redis(server.url)
    await admin.config("SET", "requirepass", "right-one")
    admin.disconnect()
    const worker = startWorker(server.url.replace("redis://", "redis://:wrong-one@"))
    const exit = await worker.exited
    expect(exit.code, worker.stderr()).toBe(1)
    expect(worker.stderr()).toMatch(/refused the credentials in EDDY_REDIS_URL: WRONGPASS/)
    expect(worker.stderr()).not.toContain("wrong-one")
  }, 60_000)

  it("gives up past EDDY_STARTUP_TIMEOUT, naming it", async () => {
    const port = await freePort()
    const worker = startWorker(`redis://127.0.0.1:${port}`, { EDDY_STARTUP_TIMEOUT: "2 seconds" })
    const exit = await worker.exited
    expect(exit.code, worker.stderr()).toBe(1)
    expect(worker.stderr()).toMatch(/was not reachable within 2s \(EDDY_STARTUP_TIMEOUT\)/)
  }, 60_000)
})
