/**
 * The operator commands as real processes against the run's Redis: submit (text, --json,
 * @file, --wait, and its refusals), status, cancel, queues, clear, replay <jobId>, dlq
 * list/show/retry/purge and projection rebuild, with a real `eddy worker` for the example actors.
 * The two tests use prefixes of their own and run at once.
 */
import { readFileSync } from "node:fs"
import { AllocateFile, ParsePosting } from "@eddy/examples/contracts"
import { afterAll, beforeAll, describe, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import {
  eventually,
  describe as explain,
  fixture,
  killAll,
  linesOf,
  redisEnv,
  run,
  runAll,
  startWorker,
} from "./support/Eddy.js"
import * as Store from "./support/Store.js"

let redis: Store.Raw
beforeAll(() => {
  redis = Store.connect()
})
afterAll(async () => {
  await killAll()
  await redis.quit()
})

const jobIdPattern = /^[0-9A-Z]{26}$/
const poison = { url: "https://jobs.example/x", html: "<p>no posting here</p>" }

describe.concurrent("eddy commands", () => {
  it("submit, status, cancel, queues and clear on queued jobs (no worker)", async ({ expect }) => {
    const prefix = TestRedis.uniquePrefix("cli-q")
    const env = redisEnv(prefix)
    const fileInput = JSON.parse(readFileSync(fixture("allocate-input.json"), "utf8"))
    const submits: ReadonlyArray<ReadonlyArray<string>> = [
      ["submit", "extract-contacts", '{"documentId":"d1","text":"mail ada@example.org"}'],
      ["submit", "--json", "allocate-file", `@${fixture("allocate-input.json")}`],
      ["submit", "extract-contacts", '{"documentId":1,"text":"x"}'],
      ["submit", "no-such-actor", "{}"],
      ["submit", "extract-contacts", '{"documentId":'],
      ["submit", "extract-contacts", `@${fixture("missing.json")}`],
      ["status", "no-such-job"],
      ["submit", "--wait", "--timeout", "1", "extract-contacts", '{"documentId":"d2","text":"nobody runs this"}'],
    ]
    const [text, asJson, invalid, unknown, badJson, missingFile, noJob, timedOut] = await runAll(
      submits.map((args) => () => run(args, env)),
    )

    // Text: `<jobId> queued`.
    expect(text!.code, explain(submits[0]!, text!)).toBe(0)
    expect(text!.stderr).toBe("")
    const [textId, textState] = text!.stdout.trim().split(" ")
    expect(textId).toMatch(jobIdPattern)
    expect(textState).toBe("queued")
    // --json with the input from a file.
    expect(asJson!.code, explain(submits[1]!, asJson!)).toBe(0)
    const submitted = JSON.parse(asJson!.stdout) as { jobId: string; duplicate: boolean; state: string }
    expect(submitted).toEqual({ jobId: expect.stringMatching(jobIdPattern), duplicate: false, state: "queued" })
    // Refusals: exit 1, one line naming the problem.
    const refusal = (result: typeof invalid, args: ReadonlyArray<string>, says: RegExp) => {
      expect(result!.code, explain(args, result!)).toBe(1)
      expect(result!.stdout).toBe("")
      expect(linesOf(result!.stderr), explain(args, result!)).toHaveLength(1)
      expect(result!.stderr).toMatch(says)
    }
    refusal(invalid, submits[2]!, /^eddy: .*input for extract-contacts is invalid at documentId: Expected string/)
    refusal(
      unknown,
      submits[3]!,
      /^eddy: unknown actor no-such-actor; known: parse-posting, extract-contacts, allocate-file$/m,
    )
    refusal(badJson, submits[4]!, /^eddy: the input is not valid JSON: /)
    refusal(missingFile, submits[5]!, /^eddy: cannot read the input file .*missing\.json: ENOENT/)
    refusal(noJob, submits[6]!, /^eddy: no job no-such-job$/m)
    // --wait with nobody to run the job: it times out, and the job stays.
    refusal(timedOut, submits[7]!, /^eddy: job (\S+) did not finish within 1s; it goes on \(eddy status \1\)$/m)
    const waitedFor = /job (\S+) did not finish/.exec(timedOut!.stderr)![1]!
    expect((await Store.record(redis, prefix, waitedFor))?.s).toBe("queued")

    // Two more queued jobs of allocate-file, for clear.
    const more = await Store.submit(prefix, AllocateFile, [
      { name: "a.txt", sizeBytes: 1, kind: "document" },
      { name: "b.txt", sizeBytes: 2, kind: "image" },
    ])
    const second: ReadonlyArray<ReadonlyArray<string>> = [
      ["status", textId!],
      ["status", "--json", submitted.jobId],
      ["queues", "--json"],
      ["cancel", textId!],
    ]
    const [statusText, statusJson, queues, cancel] = await runAll(second.map((args) => () => run(args, env)))
    expect(statusText!.code, explain(second[0]!, statusText!)).toBe(0)
    const lines = linesOf(statusText!.stdout)
    expect(lines[0]).toBe(`job ${textId}`)
    expect(lines).toContain("  actor     extract-contacts (lane normal)")
    expect(lines).toContain("  state     queued")
    expect(lines).toContain("  attempt   1 of 3")
    expect(statusJson!.code, explain(second[1]!, statusJson!)).toBe(0)
    expect(JSON.parse(statusJson!.stdout)).toMatchObject({
      jobId: submitted.jobId,
      actor: "allocate-file",
      state: "queued",
      input: fileInput,
    })
    expect(queues!.code, explain(second[2]!, queues!)).toBe(0)
    const rows = JSON.parse(queues!.stdout) as Array<{ actor: string; depth: number; workers: number }>
    // The cancel ran at the same time as this read: extract-contacts has 1 or 0 waiting.
    expect(rows.map((r) => r.actor)).toEqual(["allocate-file", "extract-contacts"])
    expect(rows[0]).toMatchObject({ actor: "allocate-file", depth: 3, delayed: 0, workers: 0 })
    expect(cancel!.code, explain(second[3]!, cancel!)).toBe(0)
    expect(cancel!.stdout).toBe(`${textId} cancelled\n`)
    expect((await Store.record(redis, prefix, textId!))?.s).toBe("cancelled")

    const third: ReadonlyArray<ReadonlyArray<string>> = [
      ["cancel", textId!],
      ["clear", "allocate-file", "--yes"],
    ]
    const [again, clear] = await runAll(third.map((args) => () => run(args, env)))
    expect(again!.code, explain(third[0]!, again!)).toBe(1)
    expect(again!.stderr).toBe(`eddy: job ${textId} is already cancelled\n`)
    expect(clear!.code, explain(third[1]!, clear!)).toBe(0)
    expect(clear!.stdout).toBe("allocate-file: cancelled 3, cancel requested for 0 running, purged 0 dead letter(s)\n")
    for (const id of [submitted.jobId, ...more]) expect((await Store.record(redis, prefix, id))?.s).toBe("cancelled")
    expect(await redis.xlen(`${prefix}:{p0}:inbox:allocate-file:normal`)).toBe(0)
  }, 180_000)

  it("submit --wait, replay <jobId>, dlq list/show/retry/purge, queues and projection rebuild with a worker", async ({
    expect,
  }) => {
    const prefix = TestRedis.uniquePrefix("cli-w")
    const env = redisEnv(prefix)
    // Two dead letters-to-be, waiting for the worker.
    const [poison1, poison2] = await Store.submit(prefix, ParsePosting, [poison, { ...poison, url: "u2" }])
    const { worker, consumer } = await startWorker(fixture("examples-worker.ts"), prefix)
    try {
      // abc.pdf meets a busy storage node at its first try: a retry, then success.
      const first: ReadonlyArray<ReadonlyArray<string>> = [
        ["submit", "--wait", "allocate-file", '{"name":"abc.pdf","sizeBytes":10,"kind":"document"}'],
        ["submit", "--wait", "--json", "parse-posting", JSON.stringify(poison)],
      ]
      const [waited, dead] = await runAll(first.map((args) => () => run(args, env)))
      expect(waited!.code, explain(first[0]!, waited!)).toBe(0)
      const waitedMatch = /^(\S+) succeeded: (.*)\n$/.exec(waited!.stdout)
      expect(waitedMatch, waited!.stdout).not.toBeNull()
      const retried = waitedMatch![1]!
      expect(JSON.parse(waitedMatch![2]!)).toEqual({
        bucket: "ingest-hot",
        tier: "hot",
        path: expect.stringMatching(/^document\/\d{4}-\d\d-\d\d\/abc\.pdf$/),
      })
      expect(dead!.code, explain(first[1]!, dead!)).toBe(1)
      expect(linesOf(dead!.stderr)).toHaveLength(1)
      expect(dead!.stderr).toMatch(
        /^eddy: job \S+ was dead-lettered \(nonRetryable\): NonRetryable: the page has no posting title or company/,
      )
      const poison3 = /job (\S+) was dead-lettered/.exec(dead!.stderr)![1]!
      await Store.waitForState(redis, prefix, poison1!, ["deadLettered"])
      await Store.waitForState(redis, prefix, poison2!, ["deadLettered"])

      const second: ReadonlyArray<ReadonlyArray<string>> = [
        ["replay", retried],
        ["status", retried],
        ["cancel", retried],
        ["dlq", "list"],
        ["dlq", "list", "--json", "--actor", "parse-posting", "--limit", "2"],
        ["dlq", "show", poison1!],
        ["queues"],
      ]
      const [timeline, status, cancel, list, listJson, show, queues] = await runAll(
        second.map((args) => () => run(args, env)),
      )
      // The timeline: both attempts, on which worker, the error and the retry.
      expect(timeline!.code, explain(second[0]!, timeline!)).toBe(0)
      const events = linesOf(timeline!.stdout)
      expect(events[0]).toMatch(
        new RegExp(`^job ${retried} \\(allocate-file\\): 2 attempt\\(s\\), 6 events, succeeded after \\d`),
      )
      const at = (type: string, attempt: number) =>
        events.find((line) => new RegExp(`^ +\\+[\\d.]+ (ms|s)  ${type} +#${attempt}( |$)`).test(line))
      expect(at("submitted", 1)).toContain("lane normal")
      expect(at("started", 1)).toContain(`@${consumer}`)
      expect(at("failed", 1)).toMatch(
        new RegExp(`@${consumer}  StorageBusy: storage node busy while placing abc\\.pdf.*; retry at .*\\(ran `),
      )
      expect(at("requeued", 2)).toContain("from retry")
      expect(at("started", 2)).toMatch(new RegExp(`@${consumer} .*\\(waited `))
      expect(at("succeeded", 2)).toMatch(new RegExp(`@${consumer}  \\{"bucket":"ingest-hot".*\\(ran `))
      expect(events).toHaveLength(7)

      expect(status!.code, explain(second[1]!, status!)).toBe(0)
      expect(status!.stdout).toContain("  state     succeeded")
      expect(status!.stdout).toContain("  attempt   2 of 4")
      expect(status!.stdout).toContain(` on ${consumer}`)
      expect(status!.stdout).toMatch(/ {2}output {4}\{"bucket":"ingest-hot"/)
      expect(cancel!.code, explain(second[2]!, cancel!)).toBe(1)
      expect(cancel!.stderr).toBe(`eddy: job ${retried} is already succeeded\n`)

      // Three dead letters, newest first.
      expect(list!.code, explain(second[3]!, list!)).toBe(0)
      const listed = linesOf(list!.stdout)
      expect(listed).toHaveLength(3)
      for (const line of listed)
        expect(line).toMatch(
          /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}parse-posting +\S+ {2}nonRetryable {2}NonRetryable: the page has no posting/,
        )
      expect(listed.map((line) => line.split(/\s+/)[3]).sort()).toEqual([poison1, poison2, poison3].sort())
      expect(listJson!.code, explain(second[4]!, listJson!)).toBe(0)
      const page = JSON.parse(listJson!.stdout) as {
        items: Array<{ jobId: string; actor: string }>
        nextCursor?: string
      }
      expect(page.items).toHaveLength(2)
      expect(page.items.every((item) => item.actor === "parse-posting")).toBe(true)
      expect(page.nextCursor).toBeDefined()
      expect(show!.code, explain(second[5]!, show!)).toBe(0)
      expect(show!.stdout).toContain(`job ${poison1}`)
      expect(show!.stdout).toContain("  state     deadLettered")
      expect(show!.stdout).toContain("  error     NonRetryable: the page has no posting title or company")
      expect(show!.stdout).toContain(`  input     ${JSON.stringify(poison)}`)

      expect(queues!.code, explain(second[6]!, queues!)).toBe(0)
      const table = linesOf(queues!.stdout)
      expect(table[0]).toMatch(/^actor +depth +delayed +active +dead +workers +rate\/min +paused$/)
      // Every example actor has a worker; none waits; the dead letters are counted; none is paused.
      for (const [actor, dead] of [
        ["allocate-file", 0],
        ["extract-contacts", 0],
        ["parse-posting", 3],
      ] as const)
        expect(table.find((line) => line.startsWith(actor))).toMatch(
          new RegExp(`^\\S+ +0 +0 +\\d+ +${dead} +1 +\\d+\\.\\d +no$`),
        )

      // dlq retry <jobId>: the job goes back and runs again (and, still poison, dies again).
      const retry = await run(["dlq", "retry", poison1!], env)
      expect(retry.code, explain(["dlq", "retry"], retry)).toBe(0)
      expect(retry.stdout).toBe("requeued 1 job(s)\n")
      await Store.waitForState(redis, prefix, poison1!, ["deadLettered"])
      const history = (await Store.events(redis, prefix, poison1)).map((e) => e.type)
      expect(history).toEqual([
        "submitted",
        "started",
        "progress",
        "failed",
        "deadLettered",
        "requeued",
        "started",
        "progress",
        "failed",
        "deadLettered",
      ])
      // --all --actor: every dead letter of the actor.
      const retryAll = await run(["dlq", "retry", "--all", "--actor", "parse-posting", "--json"], env)
      expect(retryAll.code, explain(["dlq", "retry", "--all"], retryAll)).toBe(0)
      expect((JSON.parse(retryAll.stdout) as { requeued: Array<string> }).requeued.sort()).toEqual(
        [poison1, poison2, poison3].sort(),
      )
      for (const id of [poison1!, poison2!, poison3]) {
        await eventually(`${id} to run a further time`, async () =>
          (await Store.events(redis, prefix, id)).filter((e) => e.type === "started").length >= (id === poison1 ? 3 : 2)
            ? true
            : undefined,
        )
        await Store.waitForState(redis, prefix, id, ["deadLettered"])
      }

      const third: ReadonlyArray<ReadonlyArray<string>> = [
        ["dlq", "purge", poison1!],
        ["projection", "rebuild"],
        ["replay", poison2!],
      ]
      const [purge, rebuild, again] = await runAll(third.map((args) => () => run(args, env)))
      // Its second life (from the dead letters) counts as a second attempt, though numbered #1 again.
      expect(again!.code, explain(third[2]!, again!)).toBe(0)
      expect(linesOf(again!.stdout)[0]).toMatch(
        new RegExp(`^job ${poison2} \\(parse-posting\\): 2 attempt\\(s\\), 10 events, deadLettered after `),
      )
      expect(again!.stdout).toMatch(/ requeued +#1 {2}from deadLetter/)
      expect(purge!.code, explain(third[0]!, purge!)).toBe(0)
      expect(purge!.stdout).toBe("purged 1 job(s)\n")
      expect(await Store.record(redis, prefix, poison1!)).toBeUndefined()
      expect(rebuild!.code, explain(third[1]!, rebuild!)).toBe(0)
      expect(rebuild!.stdout).toMatch(/^projection rebuilt in \d+ ms \(\d+ call\(s\)\)\n$/)
      // The status projection was folded from the log again: the job is listed as it ended.
      const succeeded = await redis.xrange(`${prefix}:{p0}:list:allocate-file:succeeded`, "-", "+")
      expect(succeeded.map(([, fields]) => fields[1])).toContain(retried)
      const purgeAll = await run(["dlq", "purge", "--all", "--actor", "parse-posting", "--json"], env)
      expect(purgeAll.code, explain(["dlq", "purge", "--all"], purgeAll)).toBe(0)
      expect((JSON.parse(purgeAll.stdout) as { purged: Array<string> }).purged.sort()).toEqual(
        [poison2, poison3].sort(),
      )
      expect(await redis.xlen(`${prefix}:{p0}:dead:parse-posting`)).toBe(0)
    } finally {
      const stopped = await worker.stop("SIGTERM")
      expect(stopped.code, stopped.stderr).toBe(0)
    }
  }, 180_000)
})
