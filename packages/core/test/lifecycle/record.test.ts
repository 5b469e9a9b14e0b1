/** The stored record: MessagePack since 2026-12-07, JSON before; both read, the old one rewritten at its next change. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStatus from "../../src/JobStatus.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import { ensureAllGroups } from "./batchSupport.js"
import { actor, inboxKey, keys, rawRecord, record, redis, submit, take, withRedis } from "./support.js"

const openBrace = 0x7b

describe("the job record", () => {
  it.live("keeps a large, unicode input and output exactly, and is MessagePack, not JSON", () =>
    Effect.gen(function* () {
      const input = JSON.stringify({
        text: 'ünïcødé ✓ 😀 \u0000 "quoted" \\ back',
        long: "x".repeat(70_000),
        n: 1796000000000.125,
        nested: { list: [1, -2, 3.5, null, true, []], empty: {} },
      })
      const output = JSON.stringify({ echo: "😀".repeat(20_000), big: 12345678901234 })
      const delivery = yield* take("big", "c1", { input })
      const raw = yield* rawRecord("big")
      expect(raw?.[0]).not.toBe(openBrace)
      expect((yield* JobStore.status("big")).input).toEqual(JSON.parse(input))
      const answers = yield* Deliveries.completeMany([{ delivery, output }], "c1")
      expect(answers.every(Either.isRight)).toBe(true)
      const status = yield* JobStore.status("big")
      expect(status).toMatchObject({ state: "succeeded", input: JSON.parse(input), output: JSON.parse(output) })
      expect((yield* record("big"))?.i).toBe(input)
      expect(JobStatus.stateOfRecord((yield* rawRecord("big")) ?? "")).toBe("succeeded")
      // The read model's list page decodes the same records.
      const page = yield* ReadModel.listJobs(actor, "succeeded", { limit: 10 })
      expect(page.jobs.map((job) => [job.jobId, job.output])).toEqual([["big", JSON.parse(output)]])
    }).pipe(withRedis()),
  )

  it.live("reads a record an older version wrote as JSON, and writes it as MessagePack at its next change", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      const p = yield* keys()
      const inbox = yield* inboxKey()
      const submittedAt = Date.now() - 1_000
      const entry = yield* redis((c) => c.xadd(inbox, "*", "j", "old", "n", "1"))
      // What the prelude wrote before MessagePack: cjson's text, the input as an escaped JSON string.
      const old = JSON.stringify({
        a: actor,
        s: "queued",
        n: 1,
        m: 3,
        i: '{"x":"é"}',
        t: submittedAt,
        x: entry,
        h: "0:0",
      })
      yield* redis((c) => c.hset(p.jobs, "old", old))
      expect(yield* JobStore.status("old")).toMatchObject({ state: "queued", input: { x: "é" }, submittedAt })

      const [claimed] = yield* Deliveries.claim(0, actor, "c1", 10)
      expect(claimed?.delivery.jobId).toBe("old")
      const started = claimed?.started
      expect(started !== undefined && Either.isRight(started) ? started.right.input : undefined).toBe('{"x":"é"}')
      expect((yield* rawRecord("old"))?.[0]).not.toBe(openBrace)
      if (claimed === undefined) return expect.unreachable()
      yield* Deliveries.completeMany([{ delivery: claimed.delivery, output: '"done"' }], "c1")
      expect(yield* JobStore.status("old")).toMatchObject({
        state: "succeeded",
        input: { x: "é" },
        output: "done",
        submittedAt,
        attempt: 1,
      })
      expect((yield* JobStore.status("old")).eventIds).toHaveLength(3)
    }).pipe(withRedis()),
  )

  it.live("a record that is neither is no job", () =>
    Effect.gen(function* () {
      yield* submit("fine")
      const p = yield* keys()
      yield* redis((c) => c.hset(p.jobs, "junk", Buffer.from([0x81, 0xa1, 0x73, 0xc1])))
      expect(JobStatus.fromRecord("junk", (yield* rawRecord("junk")) ?? "")._tag).toBe("None")
      expect(JobStatus.fieldsOfRecord(Buffer.from("not json"))).toBeUndefined()
      expect((yield* JobStore.status("fine")).state).toBe("queued")
    }).pipe(withRedis()),
  )
})
