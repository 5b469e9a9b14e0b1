import { Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Actor from "../src/Actor.js"
import * as EddyClient from "../src/EddyClient.js"
import * as RedisClient from "../src/RedisClient.js"
import * as Settings from "../src/Settings.js"
import * as SimulatedWorker from "./support/SimulatedWorker.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String }),
})

describe("EddyClient (Promise facade)", () => {
  it("submits, waits for the result, streams events and rejects with typed errors", async () => {
    const prefix = TestRedis.uniquePrefix()
    const eddy = await EddyClient.connect({ url: TestRedis.url(), prefix })
    const worker = Layer.merge(RedisClient.layer(TestRedis.target()), Settings.layer({ prefix }))
    try {
      const { jobId, duplicate } = await eddy.submit(Echo, { text: "hi" }, { jobId: "promise-1" })
      expect(duplicate).toBe(false)
      expect((await eddy.submit(Echo, { text: "again" }, { jobId: "promise-1" })).duplicate).toBe(true)
      expect((await eddy.status(jobId)).state).toBe("queued")
      const result = eddy.resultOf(Echo, jobId, { timeout: "10 seconds" })
      await Effect.runPromise(SimulatedWorker.completeAll("w", "echo").pipe(Effect.provide(worker)))
      expect(await result).toEqual({ text: "hi" })
      const types: Array<string> = []
      for await (const event of eddy.events(jobId)) types.push(event.type)
      expect(types).toEqual(["submitted", "started", "succeeded"])
      await expect(eddy.submit(Echo, { text: 1 } as never)).rejects.toMatchObject({ _tag: "InvalidInput" })
      await expect(eddy.status("missing")).rejects.toMatchObject({ _tag: "JobNotFound" })
      const many = await eddy.submitMany(Echo, [{ input: { text: "a" } }, { input: { text: "b" } }])
      expect(many).toHaveLength(2)
      expect(await eddy.cancel(many[0]!.jobId)).toBe("cancelled")
      await expect(eddy.result(many[0]!.jobId, { timeout: "1 second" })).rejects.toMatchObject({ _tag: "JobCancelled" })
    } finally {
      await eddy.close()
    }
  })

  it("rejects with RedisUnavailable when Redis cannot be reached", async () => {
    await expect(
      EddyClient.connect({ url: "redis://127.0.0.1:1", prefix: "x", timeout: "300 millis" }),
    ).rejects.toMatchObject({
      _tag: "RedisUnavailable",
    })
  })
})
