/**
 * `eddy jobs <actor> --state <s>` (a page at a time, from the inline read model) and
 * `eddy pause|resume <actor>` as real processes against the run's Redis.
 */
import { ExtractContacts } from "@eddy/examples/contracts"
import { afterAll, beforeAll, describe, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { describe as explain, killAll, linesOf, redisEnv, run, runAll } from "./support/Eddy.js"
import * as Store from "./support/Store.js"

let redis: Store.Raw
beforeAll(() => {
  redis = Store.connect()
})
afterAll(async () => {
  await killAll()
  await redis.quit()
})

interface Page {
  jobs: Array<{ jobId: string; state: string; actor: string }>
  nextCursor?: string
}

describe.concurrent("eddy jobs, pause and resume", () => {
  it("jobs lists a state newest first a page at a time, and refuses a bad state", async ({ expect }) => {
    const prefix = TestRedis.uniquePrefix("cli-jobs")
    const env = redisEnv(prefix)
    const ids: Array<string> = []
    for (const n of [1, 2, 3]) {
      ids.push(...(await Store.submit(prefix, ExtractContacts, [{ documentId: `d${n}`, text: "none" }])))
      await new Promise((resolve) => setTimeout(resolve, 3))
    }
    const first = await run(["jobs", "extract-contacts", "--state", "queued", "--limit", "2", "--json"], env)
    expect(first.code, explain(["jobs"], first)).toBe(0)
    const page = JSON.parse(first.stdout) as Page
    expect(page.jobs.map((job) => job.jobId)).toEqual([ids[2], ids[1]])
    expect(page.jobs[0]).toMatchObject({ actor: "extract-contacts", state: "queued" })
    const cursor = page.nextCursor as string
    expect(cursor).toEqual(expect.any(String))

    const argsList: ReadonlyArray<ReadonlyArray<string>> = [
      ["jobs", "extract-contacts", "--state", "queued", "--limit", "2", "--cursor", cursor],
      ["jobs", "extract-contacts", "--state", "queued", "--limit", "2"],
      ["jobs", "extract-contacts", "--state", "running"],
      ["jobs", "extract-contacts", "--state", "queued", "--cursor", "nonsense!"],
      ["jobs", "extract-contacts", "--state", "succeeded"],
    ]
    const [second, text, badState, badCursor, none] = await runAll(argsList.map((args) => () => run(args, env)))
    expect(second!.code, explain(argsList[0]!, second!)).toBe(0)
    expect(linesOf(second!.stdout).map((line) => line.split("  ")[0])).toEqual([ids[0]])
    expect(linesOf(text!.stdout).at(-1)).toBe(`more: --cursor ${cursor}`)
    expect(linesOf(text!.stdout)[0]).toMatch(new RegExp(`^${ids[2]}  attempt 1/\\d+  submitted `))
    expect(badState!.code, explain(argsList[2]!, badState!)).toBe(2)
    expect(badCursor!.code, explain(argsList[3]!, badCursor!)).toBe(1)
    expect(badCursor!.stderr).toBe("eddy: cursor is not one this API returned\n")
    expect(none!.stdout).toBe("no succeeded jobs of extract-contacts\n")
  }, 120_000)

  it("pause and resume an actor in every partition; queues shows it", async ({ expect }) => {
    const prefix = TestRedis.uniquePrefix("cli-pause")
    const env = { ...redisEnv(prefix), EDDY_PARTITIONS: "2" }
    const paused = await run(["pause", "extract-contacts"], env)
    expect(paused.code, explain(["pause"], paused)).toBe(0)
    expect(paused.stdout).toContain("extract-contacts paused")
    for (const p of [0, 1]) expect(await redis.smembers(`${prefix}:{p${p}}:paused`)).toEqual(["extract-contacts"])
    await Store.submit(prefix, ExtractContacts, [{ documentId: "q", text: "none" }])
    const queues = await run(["queues", "--json"], env)
    expect(queues.code, explain(["queues"], queues)).toBe(0)
    const rows = JSON.parse(queues.stdout) as Array<{ actor: string; paused: boolean }>
    expect(rows.find((row) => row.actor === "extract-contacts")?.paused).toBe(true)

    const resumed = await run(["resume", "extract-contacts", "--json"], env)
    expect(JSON.parse(resumed.stdout)).toEqual({ actor: "extract-contacts", paused: false })
    for (const p of [0, 1]) expect(await redis.smembers(`${prefix}:{p${p}}:paused`)).toEqual([])
  }, 120_000)
})
