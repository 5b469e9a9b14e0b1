/**
 * Stop signals reach the system through every entry point a user starts: `npm run eddy --
 * worker`, the `eddy` bin (its wrapper, which runs the TypeScript sources) and `npm start`.
 * Docker, Kubernetes and systemd signal only the top process, so each test signals only that one
 * (or its whole process group, as a terminal's Ctrl-C does), then checks that the running job
 * finishes, the process exits 0 within the grace, and nothing it started is left running, the
 * embedded redis-server included. A second signal, a second or more later, still releases the
 * running job at once.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EddyClient, EmbeddedRedis, JobStatus } from "@eddy/core"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import * as TestRedis from "../packages/core/test/support/TestRedis.js"
import { Nap } from "./fixtures/nap-worker.js"
import { descendants, killAll, root, startTop, survivors, type Top } from "./support/Processes.js"

const napWorker = "test/fixtures/nap-worker.ts"
const graceMs = 20_000
const dirs: Array<string> = []
const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `eddy-${label}-`))
  dirs.push(dir)
  return dir
}

afterEach(() => killAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * A copy of the `eddy` bin that has no `dist/` beside it, so it always takes its wrapper path
 * (a child running the sources through tsx), whether or not the workspace is built.
 */
const unbuiltBin = () => {
  const dir = tempDir("bin")
  mkdirSync(join(dir, "bin"))
  cpSync(join(root, "packages/cli/bin/eddy.mjs"), join(dir, "bin/eddy.mjs"))
  symlinkSync(join(root, "packages/cli/src"), join(dir, "src"))
  return join(dir, "bin/eddy.mjs")
}

const workerEnv = (prefix: string) => ({
  EDDY_REDIS_URL: TestRedis.url(),
  EDDY_PREFIX: prefix,
  EDDY_LOG_LEVEL: "info",
  EDDY_LOG_PRETTY: "false",
  EDDY_SHUTDOWN_GRACE: `${graceMs / 1000} seconds`,
})

/** Starts a worker through `start`, submits a `nap` of `ms` and waits until it runs. */
const napRunning = async (start: (env: Record<string, string>) => Top, ms: number) => {
  const prefix = TestRedis.uniquePrefix("sig")
  const top = start(workerEnv(prefix))
  await top.waitFor("the worker to serve", (out) => /"msg":"worker \S+ serving nap/.test(out))
  const client = await EddyClient.connect({ url: TestRedis.url(), prefix })
  const { jobId } = await client.submit(Nap, { ms })
  const deadline = Date.now() + 30_000
  while ((await client.status(jobId)).state !== "active") {
    if (Date.now() > deadline) throw new Error(`job ${jobId} never started\n${top.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { top, client, jobId }
}

/** Signals (only `top`, or its group), then checks the drain: exit 0 within the grace, no leftovers. */
const stopAndCheck = async (top: Top, send: () => void) => {
  const tree = descendants(top.pid)
  expect(tree.length).toBeGreaterThan(0)
  const signalledAt = Date.now()
  send()
  const exit = await Promise.race([
    top.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), graceMs + 15_000)),
  ])
  expect(exit, top.stderr()).toBeDefined()
  expect(exit?.code, top.stderr()).toBe(0)
  expect((exit?.at ?? Number.POSITIVE_INFINITY) - signalledAt).toBeLessThan(graceMs)
  expect(await survivors(tree)).toEqual([])
}

describe.sequential("stop signals through each entry point", () => {
  it("npm run eddy -- worker: SIGTERM to npm alone lets the running job finish", async () => {
    const { top, client, jobId } = await napRunning(
      (env) => startTop("npm", ["run", "--silent", "eddy", "--", "worker", napWorker], env),
      2_500,
    )
    await stopAndCheck(top, () => process.kill(top.pid, "SIGTERM"))
    expect((await client.status(jobId)).state).toBe("succeeded")
    await client.close()
  }, 90_000)

  it("eddy (the bin's wrapper): SIGINT to the wrapper alone lets the running job finish", async () => {
    const bin = unbuiltBin()
    const { top, client, jobId } = await napRunning(
      (env) => startTop(process.execPath, [bin, "worker", napWorker], env),
      2_500,
    )
    await stopAndCheck(top, () => process.kill(top.pid, "SIGINT"))
    expect((await client.status(jobId)).state).toBe("succeeded")
    await client.close()
  }, 90_000)

  it("eddy (the bin's wrapper): a terminal's Ctrl-C, which reaches every process, is one stop, not two", async () => {
    const bin = unbuiltBin()
    const { top, client, jobId } = await napRunning(
      (env) => startTop(process.execPath, [bin, "worker", napWorker], env),
      2_500,
    )
    await stopAndCheck(top, () => process.kill(-top.pid, "SIGINT"))
    expect((await client.status(jobId)).state).toBe("succeeded")
    await client.close()
  }, 90_000)

  it("eddy (the bin's wrapper): a second SIGTERM a second later releases the running job at once", async () => {
    const bin = unbuiltBin()
    const { top, client, jobId } = await napRunning(
      (env) => startTop(process.execPath, [bin, "worker", napWorker], env),
      60_000,
    )
    await stopAndCheck(top, () => {
      process.kill(top.pid, "SIGTERM")
      setTimeout(() => process.kill(top.pid, "SIGTERM"), 1_500)
    })
    // Released back to its inbox (not waited for, and not finished): queued for the next worker.
    expect((await client.status(jobId)).state).toBe("queued")
    await client.close()
  }, 90_000)
})

describe("a worker whose Redis is gone", () => {
  it("still stops on SIGTERM, exit 0 within the grace (every Redis call of its shutdown is bounded)", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const server = await Effect.runPromise(EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope)))
      const top = startTop(process.execPath, [unbuiltBin(), "worker", napWorker], {
        ...workerEnv(TestRedis.uniquePrefix("sig-down")),
        EDDY_REDIS_URL: server.url,
        EDDY_REDIS_TIMEOUT: "500 millis",
      })
      await top.waitFor("the worker to serve", (out) => /"msg":"worker \S+ serving nap/.test(out))
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await top.waitFor("it to see Redis go", (out) => out.includes("Redis connection lost"))
      await stopAndCheck(top, () => process.kill(top.pid, "SIGTERM"))
      expect(top.stderr()).toMatch(/"msg":"worker \S+ stopped"/)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 90_000)
})

describe("a gateway through the bin's wrapper", () => {
  it("a terminal's Ctrl-C stops it cleanly (exit 0), its copies doing no harm", async () => {
    const top = startTop(process.execPath, [unbuiltBin(), "gateway"], {
      ...workerEnv(TestRedis.uniquePrefix("sig-gw")),
      EDDY_HTTP_PORT: "0",
    })
    await top.waitFor("the gateway to listen", (out) => out.includes('"msg":"Listening on http://'))
    await stopAndCheck(top, () => process.kill(-top.pid, "SIGINT"))
  }, 90_000)
})

/** The job records in the embedded server's data, read after it stopped (what it saved on its way out). */
const recordsIn = (dataDir: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* EmbeddedRedis.start({ dir: dataDir })
        return yield* Effect.promise(async () => {
          const redis = new Redis(server.url)
          const records = await redis.hvalsBuffer("eddy:{p0}:jobs")
          await redis.quit()
          return records.map(
            (raw) => JobStatus.fieldsOfRecord(raw) as { s: string; t: number; st?: number; ft?: number },
          )
        })
      }),
    ),
  )

/** `npm start` as a user types it, and the bootstrap it runs, started by hand. */
const npmStart = ["npm", "start"] as const
const bootstrapStart = [process.execPath, "scripts/bootstrap.mjs", "start"] as const

/** Starts `npm start` (or its bootstrap) on an embedded Redis with its data in `dataDir`. */
const startNpmStart = (dataDir: string, env: Record<string, string>, [command, ...args]: ReadonlyArray<string>) =>
  startTop(command as string, args, {
    EDDY_DATA_DIR: dataDir,
    EDDY_HTTP_PORT: "0",
    EDDY_DEMO_JOBS: "3",
    EDDY_LOG_LEVEL: "info",
    EDDY_LOG_PRETTY: "false",
    EDDY_SHUTDOWN_GRACE: `${graceMs / 1000} seconds`,
    ...env,
  })

/**
 * `npm start` on its own embedded Redis. Once its demo is done, 1,000 more jobs (150 ms each) go
 * through its gateway; `stop` sends the signal the moment one of them has just started, so that
 * the stop surely finds it running.
 */
const npmStartBusy = async (env: Record<string, string>, key?: string, command: ReadonlyArray<string> = npmStart) => {
  const dataDir = tempDir("start")
  const top = startNpmStart(dataDir, env, command)
  await top.waitFor("the demo to finish", (out) => out.includes("Serving until Ctrl-C."), 120_000)
  const base = /gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(top.stdout())?.[1]
  expect(base).toBeDefined()
  const headers = {
    "content-type": "application/json",
    ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
  }
  const html = '<h1 class="title">Analyst</h1><span class="company">Northwind</span><ul class="skills"></ul>'
  const jobIds: Array<string> = []
  for (let batch = 0; batch < 5; batch++) {
    const jobs = Array.from({ length: 200 }, (_, i) => ({ input: { url: `https://jobs.example/${batch}-${i}`, html } }))
    const response = await fetch(`${base}/v1/actors/parse-posting/jobs/batch`, {
      method: "POST",
      headers,
      body: JSON.stringify({ jobs }),
    })
    expect(response.status).toBe(202)
    const { results } = (await response.json()) as { results: Array<{ jobId: string }> }
    jobIds.push(...results.map((r) => r.jobId))
  }
  const stop = async (send: () => void, check: (top: Top, send: () => void) => Promise<void> = stopAndCheck) => {
    const deadline = Date.now() + 60_000
    let next = 0
    while (next < jobIds.length && Date.now() < deadline) {
      const response = await fetch(`${base}/v1/jobs/${jobIds[next]}`, { headers })
      expect(response.status).toBe(200)
      const job = (await response.json()) as { state: string; startedAt?: number }
      if (job.state === "active" && Date.now() - (job.startedAt ?? 0) < 50) break
      if (job.state === "queued") await new Promise((resolve) => setTimeout(resolve, 5))
      else next += 1
    }
    const signalledAt = Date.now()
    await check(top, send)
    return signalledAt
  }
  return { top, dataDir, stop }
}

/**
 * Checks the drain in the saved data: the jobs running at the signal all succeeded, none is left
 * active. (A record's start and end times count from its submission, `t`.)
 */
const expectDrained = async (dataDir: string, signalledAt: number) => {
  const records = await recordsIn(dataDir)
  expect(records.filter((r) => r.s === "active")).toEqual([])
  const running = records.filter(
    (r) => r.st !== undefined && r.t + r.st < signalledAt && (r.ft === undefined || r.t + r.ft > signalledAt),
  )
  expect(running.length).toBeGreaterThan(0)
  expect(running.map((r) => r.s)).toEqual(running.map(() => "succeeded"))
}

describe.sequential("npm start", () => {
  it("with EDDY_API_KEYS, runs its demo with a key that may submit; SIGTERM to npm alone drains it", async () => {
    const { top, dataDir, stop } = await npmStartBusy(
      { EDDY_API_KEYS: "reader-key:read,demo-key:submit+read" },
      "demo-key",
    )
    expect(top.stdout()).toMatch(/Summary\n {2}jobs +10\n {2}succeeded +9\n/)
    expect(top.stdout()).toContain("API keys are on")
    const signalledAt = await stop(() => process.kill(top.pid, "SIGTERM"))
    await expectDrained(dataDir, signalledAt)
  }, 240_000)

  it("a terminal's Ctrl-C, which reaches npm, the bootstrap and the system, is one stop, not three", async () => {
    const { dataDir, top, stop } = await npmStartBusy({})
    const signalledAt = await stop(() => process.kill(-top.pid, "SIGINT"))
    await expectDrained(dataDir, signalledAt)
  }, 240_000)

  it("SIGHUP to npm, which npm does not pass on: the bootstrap sees npm go and drains the system", async () => {
    const { dataDir, top, stop } = await npmStartBusy({})
    const signalledAt = await stop(
      () => process.kill(top.pid, "SIGHUP"),
      async (_, send) => {
        const tree = descendants(top.pid)
        send()
        // npm dies of it at once; what it started stops by itself, within the grace.
        expect((await top.exited).signal).toBe("SIGHUP")
        expect(await survivors(tree, graceMs)).toEqual([])
      },
    )
    expect(top.stderr()).toMatch(/"msg":"worker \S+ stopped"/)
    await expectDrained(dataDir, signalledAt)
  }, 240_000)

  it("scripts/bootstrap.mjs started alone: SIGINT to it alone (kill -INT, no terminal) drains the system", async () => {
    const { dataDir, top, stop } = await npmStartBusy({}, undefined, bootstrapStart)
    const signalledAt = await stop(() => process.kill(top.pid, "SIGINT"))
    await expectDrained(dataDir, signalledAt)
  }, 240_000)

  it("with API keys of which none may submit, skips the demo in one line and serves", async () => {
    const top = startNpmStart(tempDir("start"), { EDDY_API_KEYS: "reader-key:read" }, npmStart)
    await top.waitFor("it to serve", (out) => out.includes("Serving until Ctrl-C."), 120_000)
    expect(top.stdout()).toContain(
      "No demo workload: none of the API keys (EDDY_API_KEYS) has the submit scope.\n\nServing until Ctrl-C.",
    )
    expect(top.stdout()).not.toContain("Summary")
    await stopAndCheck(top, () => process.kill(top.pid, "SIGTERM"))
  }, 240_000)
})
