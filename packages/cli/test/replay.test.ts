/**
 * `eddy replay --actor --since --handlers`: jobs recorded by a v1 worker process are re-run
 * through v2 handler code in the CLI process and compared with what was recorded: a match, a
 * difference (with the path), a job that now fails, one that now succeeds, and one that needed a
 * retry live and still does. Nothing is written to Redis, unless --resubmit asks for new jobs,
 * which are marked as replays of the originals.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Quote } from "./fixtures/quote-contract.js"
import { describe as explain, fixture, killAll, linesOf, redisEnv, run, runAll, startWorker } from "./support/Eddy.js"
import * as Store from "./support/Store.js"

let redis: Store.Raw
beforeAll(() => {
  redis = Store.connect()
})
afterEach(killAll)
afterAll(() => redis.quit())

const cases = ["same", "changed", "throws", "poison", "flaky"] as const

describe("eddy replay --handlers", () => {
  it("compares recorded jobs with new handler code, writes nothing, and --resubmit marks new jobs replayOf", async () => {
    const prefix = TestRedis.uniquePrefix("cli-replay")
    const env = redisEnv(prefix)
    const since = Date.now()

    // Record: v1 runs every case as a real worker process.
    const { worker } = await startWorker(fixture("quote-v1.ts"), prefix)
    const ids = await Store.submit(
      prefix,
      Quote,
      cases.map((c) => ({ case: c, qty: 3 })),
    )
    const job = Object.fromEntries(cases.map((c, i) => [c, ids[i]!])) as Record<(typeof cases)[number], string>
    for (const c of cases)
      await Store.waitForState(redis, prefix, job[c], [c === "poison" ? "deadLettered" : "succeeded"])
    expect((await Store.record(redis, prefix, job.flaky))?.n).toBe(2)
    const stopped = await worker.stop("SIGTERM")
    expect(stopped.code, stopped.stderr).toBe(0)

    // Replay with v2, as text (since as an ISO time) and as JSON (since in ms).
    const before = await Store.snapshot(redis, prefix)
    expect(before[`${prefix}:{p0}:events`]).toMatch(/^stream:\d+$/)
    const args = (since: string, ...more: Array<string>) => [
      "replay",
      "--actor",
      "quote",
      "--since",
      since,
      "--handlers",
      fixture("quote-v2.ts"),
      ...more,
    ]
    const compare = [args(new Date(since).toISOString()), args(String(since), "--json")]
    const [text, json] = await runAll(compare.map((a) => () => run(a, env)))

    expect(text!.code, explain(compare[0]!, text!)).toBe(0)
    expect(text!.stderr).toBe("")
    const lines = linesOf(text!.stdout)
    const lineOf = (id: string) => lines.findIndex((line) => line.startsWith(`${id}  `))
    expect(lines[lineOf(job.same)]).toBe(`${job.same}  matches`)
    expect(lines[lineOf(job.changed)]).toBe(`${job.changed}  differs`)
    expect(lines[lineOf(job.changed) + 1]).toBe("    $.total: 6 → 7")
    expect(lines[lineOf(job.throws)]).toBe(`${job.throws}  now fails: Error: rounding rule missing (after 3 attempts)`)
    expect(lines[lineOf(job.poison)]).toBe(`${job.poison}  now succeeds`)
    expect(lines[lineOf(job.poison) + 1]).toBe('    would send quote {"case":"same","qty":1}')
    expect(lines[lineOf(job.flaky)]).toBe(`${job.flaky}  matches (after 2 attempts)`)
    expect(lines[lines.length - 1]).toBe(
      "5 job(s) replayed: 2 matches, 1 differs, 1 now fails, 1 now succeeds; nothing was written to the live streams",
    )

    expect(json!.code, explain(compare[1]!, json!)).toBe(0)
    const report = JSON.parse(json!.stdout) as {
      results: Array<{ jobId: string; verdict: string; diff?: Array<string>; output?: unknown; error?: string }>
      totals: Record<string, number>
      resubmitted: Array<unknown>
    }
    const verdicts = Object.fromEntries(report.results.map((r) => [r.jobId, r]))
    expect(verdicts[job.same]).toEqual({ jobId: job.same, verdict: "matches", attempts: 1 })
    expect(verdicts[job.changed]).toEqual({
      jobId: job.changed,
      verdict: "differs",
      diff: ["$.total: 6 → 7"],
      output: { total: 7, currency: "EUR" },
      attempts: 1,
    })
    expect(verdicts[job.throws]).toEqual({
      jobId: job.throws,
      verdict: "now fails",
      error: "Error: rounding rule missing",
      attempts: 3,
    })
    expect(verdicts[job.poison]).toEqual({
      jobId: job.poison,
      verdict: "now succeeds",
      output: { total: 0, currency: "EUR" },
      attempts: 1,
      sent: [{ actor: "quote", input: { case: "same", qty: 1 } }],
    })
    expect(verdicts[job.flaky]).toEqual({ jobId: job.flaky, verdict: "matches", attempts: 2 })
    expect(report.totals).toEqual({ matches: 2, differs: 1, "now fails": 1, "now succeeds": 1 })
    expect(report.resubmitted).toEqual([])

    // Nothing written: every key of the prefix (event log, jobs hash, inboxes, dead letters …) as it was.
    expect(await Store.snapshot(redis, prefix)).toEqual(before)
    expect(before).toMatchObject({
      [`${prefix}:{p0}:jobs`]: "hash:5",
      [`${prefix}:{p0}:inbox:quote:normal`]: "stream:0",
      [`${prefix}:{p0}:dead:quote`]: "stream:1",
    })

    // --resubmit (of the jobs that succeeded): new jobs, correlated to and caused by the originals.
    const resubmitArgs = args(String(since), "--state", "succeeded", "--resubmit", "--json")
    const resubmit = await run(resubmitArgs, env)
    expect(resubmit.code, explain(resubmitArgs, resubmit)).toBe(0)
    const { results, resubmitted } = JSON.parse(resubmit.stdout) as {
      results: Array<{ jobId: string }>
      resubmitted: Array<{ replayOf: string; jobId: string }>
    }
    const succeeded = [job.same, job.changed, job.throws, job.flaky].sort()
    expect(results.map((r) => r.jobId).sort()).toEqual(succeeded)
    expect(resubmitted.map((r) => r.replayOf).sort()).toEqual(succeeded)
    for (const { replayOf, jobId } of resubmitted) {
      expect(jobId).not.toBe(replayOf)
      expect(await Store.record(redis, prefix, jobId)).toMatchObject({
        s: "queued",
        c: `replayOf:${replayOf}`,
        k: replayOf,
      })
    }
    const after = await Store.snapshot(redis, prefix)
    expect(after[`${prefix}:{p0}:jobs`]).toBe("hash:9")
    expect(after[`${prefix}:{p0}:inbox:quote:normal`]).toBe("stream:4")
    const eventsBefore = Number(before[`${prefix}:{p0}:events`]!.split(":")[1])
    expect(after[`${prefix}:{p0}:events`]).toBe(`stream:${eventsBefore + 4}`)

    // The status of a resubmitted job says what it replays.
    const first = resubmitted[0]!
    const status = await run(["status", first.jobId], env)
    expect(status.code, explain(["status", first.jobId], status)).toBe(0)
    expect(status.stdout).toContain(`  corr. id  replayOf:${first.replayOf}`)
    expect(status.stdout).toContain(`  caused by ${first.replayOf}`)
  }, 150_000)
})
