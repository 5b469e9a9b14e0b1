/**
 * The long-running commands start and stop cleanly: `gateway` (serving /healthz and the
 * contracts of its module) on SIGTERM, `start` (the whole demo on its own
 * embedded Redis, which commands then find without EDDY_REDIS_URL) on SIGINT. And a command that
 * cannot reach Redis, or has none configured, or a bad setting, says so in one line and exits 1,
 * without hanging.
 */
import { execSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, it } from "vitest"
import { freePort } from "../../core/test/support/FreePort.js"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { eventually, describe as explain, killAll, linesOf, redisEnv, run, runAll, start } from "./support/Eddy.js"
import * as Store from "./support/Store.js"

let redis: Store.Raw
const dirs: Array<string> = []
beforeAll(() => {
  redis = Store.connect()
})
afterAll(async () => {
  await killAll()
  await redis.quit()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "eddy-cli-"))
  dirs.push(dir)
  return dir
}

const get = async (url: string) => {
  try {
    const response = await fetch(url)
    return { status: response.status, body: (await response.json()) as unknown }
  } catch {
    return undefined
  }
}

describe.concurrent("long-running commands", () => {
  it("gateway <module> serves /healthz, its contracts and the inline status projection; stops on SIGTERM", async ({
    expect,
  }) => {
    const prefix = TestRedis.uniquePrefix("cli-gw")
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const gateway = start(["gateway", "examples/src/contracts.ts"], {
      ...redisEnv(prefix),
      EDDY_HTTP_PORT: String(port),
    })
    const healthz = await eventually(
      "the gateway's /healthz",
      async () => {
        if (!gateway.isRunning()) throw new Error(`the gateway exited: ${gateway.stderr()}`)
        const answer = await get(`${base}/healthz`)
        return answer?.status === 200 ? answer : undefined
      },
      60_000,
      250,
    )
    expect(healthz.body).toEqual({ status: "ok" })
    const actors = (await get(`${base}/v1/actors`))?.body as Array<{ name: string }>
    expect(actors.map((a) => a.name).sort()).toEqual(["allocate-file", "extract-contacts", "parse-posting"])
    // A job through the gateway: the submission itself put it in the status projection.
    const response = await fetch(`${base}/v1/actors/extract-contacts/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { documentId: "g1", text: "mail ada@example.org" } }),
    })
    expect(response.status).toBe(202)
    const { jobId } = (await response.json()) as { jobId: string }
    const listed = (await get(`${base}/v1/actors/extract-contacts/jobs?state=queued`))?.body as {
      jobs: Array<{ jobId: string }>
    }
    expect(listed.jobs.map((job) => job.jobId)).toEqual([jobId])

    const gatewayExit = await gateway.stop("SIGTERM")
    expect(gatewayExit.code, explain(gateway.args, gatewayExit)).toBe(0)
    // Warnings only: the open gateway says so, once.
    expect(linesOf(gatewayExit.stderr).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      "no API keys configured (EDDY_API_KEYS): the gateway is open and listens on 127.0.0.1 only",
    ])
    expect(await get(`${base}/healthz`)).toBeUndefined()
  }, 120_000)

  it("start runs the demo on its own embedded Redis, which commands find; SIGINT stops it cleanly", async ({
    expect,
  }) => {
    const dataDir = tempDir()
    const env = { EDDY_HTTP_PORT: "0", EDDY_DEMO_JOBS: "3", EDDY_DATA_DIR: dataDir, EDDY_LOG_PRETTY: "false" }
    const system = start(["start"], env)
    await system.waitFor("Serving until Ctrl-C.", (out) => out.includes("Serving until Ctrl-C."), {
      timeoutMs: 100_000,
    })
    const out = system.stdout()
    expect(out).toMatch(/eddy is running: gateway http:\/\/127\.0\.0\.1:\d+, worker for parse-posting/)
    expect(out).toMatch(/Summary\n {2}jobs +10\n {2}succeeded +9\n/)
    expect(out).toMatch(/dead-lettered 1/)
    const base = /gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!
    expect((await get(`${base}/healthz`))?.status).toBe(200)
    // A command finds the running system's Redis without EDDY_REDIS_URL.
    const sample = /a job +curl \S+\/v1\/jobs\/(\S+)/.exec(out)![1]!
    const status = await run(["status", "--json", sample], { EDDY_DATA_DIR: dataDir })
    expect(status.code, explain(["status", sample], status)).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ jobId: sample, state: "succeeded" })

    const stopped = await system.stop("SIGINT", 60_000)
    expect(stopped.code, explain(system.args, stopped)).toBe(0)
    // Every log line once (the CLI's logger and the program's do not both write).
    const logged = linesOf(stopped.stderr)
    expect(logged.length).toBeGreaterThan(0)
    expect(new Set(logged).size, stopped.stderr).toBe(logged.length)
    // The embedded server went with it.
    const leftovers = execSync("ps -eo args", { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes("redis-server") && line.includes(dataDir))
    expect(leftovers).toEqual([])
  }, 150_000)

  it("without Redis, or with a bad setting, a command fails in one line, exit 1, without hanging", async ({
    expect,
  }) => {
    const unreachable = { EDDY_REDIS_URL: "redis://127.0.0.1:1", EDDY_REDIS_TIMEOUT: "500", EDDY_PREFIX: "t" }
    const empty = tempDir()
    const cases: ReadonlyArray<{ args: ReadonlyArray<string>; env: Record<string, string>; says: RegExp }> = [
      {
        args: ["status", "some-job"],
        env: unreachable,
        says: /^eddy: Redis is unreachable \(.*500ms.*\); is it running, and is EDDY_REDIS_URL \(or EDDY_REDIS_CLUSTER\) right\?$/,
      },
      {
        args: ["tail"],
        env: unreachable,
        says: /^eddy: Redis is unreachable \(.*\); is it running, and is EDDY_REDIS_URL \(or EDDY_REDIS_CLUSTER\) right\?$/,
      },
      {
        args: ["queues"],
        env: { EDDY_DATA_DIR: empty },
        says: /^eddy: no Redis to talk to: set EDDY_REDIS_URL \(or EDDY_REDIS_CLUSTER\), or run `npm start` \(or `eddy start`\) in this directory$/,
      },
      {
        args: ["status", "some-job"],
        env: { EDDY_REDIS_URL: TestRedis.url(), EDDY_PREFIX: "no{braces}" },
        says: /^eddy: invalid setting \(Invalid data at EDDY_PREFIX: .*got \\?"no\{braces\}/,
      },
    ]
    const results = await runAll(
      cases.map(
        ({ args, env }) =>
          () =>
            run(args, env, { timeoutMs: 40_000 }),
      ),
    )
    cases.forEach(({ args, says }, i) => {
      const result = results[i]!
      const context = explain(args, result)
      expect(result.code, context).toBe(1)
      expect(result.stdout, context).toBe("")
      expect(linesOf(result.stderr), context).toHaveLength(1)
      expect(result.stderr.trim(), context).toMatch(says)
      // Start-up (a few seconds on a busy machine) plus the 500 ms bound: never a hang.
      expect(result.ms, context).toBeLessThan(20_000)
    })
  }, 90_000)
})
