/**
 * `eddy tail` follows the event log live: four tails run at once (everything, --actor, --job,
 * and --since an earlier time with --json) while a worker starts and jobs are submitted; each
 * prints one line per event, as the events come, filtered as asked, and exits 0 on SIGINT.
 */
import { ExtractContacts } from "@eddy/examples/contracts"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import {
  eventually,
  describe as explain,
  killAll,
  linesOf,
  type Process,
  redisEnv,
  run,
  runAll,
  start,
  startWorker,
} from "./support/Eddy.js"
import * as Store from "./support/Store.js"

let redis: Store.Raw
beforeAll(() => {
  redis = Store.connect()
})
afterEach(killAll)
afterAll(() => redis.quit())

/** Ready once its blocking read of the log is in (its connection is named after its pid). */
const following = (tail: Process) =>
  eventually(`tail ${tail.args.join(" ")} to read the log`, async () => {
    const clients = (await redis.client("LIST")) as string
    return clients.split("\n").some((line) => line.includes(`:${tail.pid}:tail `) && line.includes("cmd=xread"))
      ? true
      : undefined
  })

/** `time  type  actor  jobId  #attempt  [@worker]  [details]` */
const parse = (line: string) => {
  const [time = "", type = "", actor = "", jobId = "", attempt = ""] = line.split(/ {2,}/)
  return { time, type, actor, jobId, attempt }
}

const linePattern = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}[a-zA-Z]+ +[a-z0-9-]+ +[0-9A-Z]{26} {2}#\d+( {2}.*)?$/

/** As the CLI prints a time (UTC, no zone), to be read back by --since. */
const printed = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "")

describe("eddy tail", () => {
  it("prints one line per event as they come, filters by --actor and --job, replays --since, stops on SIGINT", async () => {
    const prefix = TestRedis.uniquePrefix("cli-tail")
    const env = redisEnv(prefix)
    // An old job (before --since), then the time, then a job submitted before the tails start.
    const [old] = await Store.submit(prefix, ExtractContacts, [{ documentId: "old", text: "old@example.org" }])
    await new Promise((resolve) => setTimeout(resolve, 50))
    const since = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const [early] = await Store.submit(prefix, ExtractContacts, [{ documentId: "early", text: "x@example.org" }])

    const all = start(["tail"], env)
    const byActor = start(["tail", "--actor", "allocate-file"], env)
    const byJob = start(["tail", "--job", early!], env)
    // Printed as the CLI prints times; read back as UTC whatever the zone of the machine.
    const replaying = start(["tail", "--since", printed(since), "--json"], { ...env, TZ: "America/New_York" })
    const tails = [all, byActor, byJob, replaying]
    await Promise.all(tails.map(following))
    const startedAt = Date.now()

    // The jobs run once a worker comes; two more are submitted with the CLI.
    const { worker } = await startWorker("packages/cli/test/fixtures/examples-worker.ts", prefix)
    const submits: ReadonlyArray<ReadonlyArray<string>> = [
      ["submit", "allocate-file", '{"name":"abc.pdf","sizeBytes":10,"kind":"document"}'],
      ["submit", "extract-contacts", '{"documentId":"live","text":"y@example.org"}'],
    ]
    const submitted = await runAll(submits.map((args) => () => run(args, env)))
    submitted.forEach((result, i) => {
      expect(result.code, explain(submits[i]!, result)).toBe(0)
    })
    const [allocate, contacts] = submitted.map((result) => result.stdout.split(" ")[0]!)
    for (const id of [old!, early!, allocate!, contacts!]) await Store.waitForState(redis, prefix, id, ["succeeded"])
    const log = await Store.events(redis, prefix)
    const of = (jobId: string, from = 0) =>
      log.filter((e) => e.jobId === jobId && Number(e.id.split("-")[0]) >= from).map((e) => `${e.jobId} ${e.type}`)

    // What each tail must print: the events after it started (everything before startedAt is
    // the two early submissions), of its actor or job; --since: every event from that time.
    const liveEvents = log.filter((e) => Number(e.id.split("-")[0]) >= startedAt)
    const expected = {
      all: liveEvents.map((e) => `${e.jobId} ${e.type}`),
      byActor: liveEvents.filter((e) => e.actor === "allocate-file").map((e) => `${e.jobId} ${e.type}`),
      byJob: liveEvents.filter((e) => e.jobId === early).map((e) => `${e.jobId} ${e.type}`),
      replaying: log.filter((e) => Number(e.id.split("-")[0]) >= since).map((e) => `${e.jobId} ${e.type}`),
    }
    // Sanity of the scenario: the retried allocation shows its failure and retry.
    expect(of(allocate!)).toEqual(
      ["submitted", "started", "failed", "requeued", "started", "succeeded"].map((t) => `${allocate} ${t}`),
    )
    expect(expected.byJob).toEqual(["started", "progress", "succeeded"].map((t) => `${early} ${t}`))
    expect(expected.replaying).toContain(`${early} submitted`)
    expect(expected.replaying).not.toContain(`${old} submitted`)
    expect(expected.replaying).toContain(`${old} succeeded`)

    const seenText = (tail: Process) => linesOf(tail.stdout()).map((line) => `${parse(line).jobId} ${parse(line).type}`)
    const seenJson = (tail: Process) =>
      linesOf(tail.stdout()).map((line) => {
        const event = JSON.parse(line) as { jobId: string; type: string }
        return `${event.jobId} ${event.type}`
      })
    await eventually("every tail to print its events", () =>
      seenText(all).length >= expected.all.length &&
      seenText(byActor).length >= expected.byActor.length &&
      seenText(byJob).length >= expected.byJob.length &&
      seenJson(replaying).length >= expected.replaying.length
        ? true
        : undefined,
    )

    const stopped = await Promise.all(tails.map((tail) => tail.stop("SIGINT")))
    stopped.forEach((result, i) => {
      const context = explain(tails[i]!.args, result)
      expect(result.code, context).toBe(0)
      expect(result.stderr, context).toBe("")
    })
    for (const tail of [all, byActor, byJob])
      for (const line of linesOf(tail.stdout())) expect(line, tail.args.join(" ")).toMatch(linePattern)
    expect(seenText(all)).toEqual(expected.all)
    expect(seenText(byActor)).toEqual(expected.byActor)
    expect(seenText(byJob)).toEqual(expected.byJob)
    expect(seenJson(replaying)).toEqual(expected.replaying)
    // The details of a line: the failure, its retry, the worker.
    const failed = linesOf(byActor.stdout()).find((line) => parse(line).type === "failed")
    expect(failed).toMatch(/#1 {2}@\S+ {2}StorageBusy: storage node busy while placing abc\.pdf; try again; retry at /)

    const stoppedWorker = await worker.stop("SIGTERM")
    expect(stoppedWorker.code, stoppedWorker.stderr).toBe(0)
  }, 150_000)
})
