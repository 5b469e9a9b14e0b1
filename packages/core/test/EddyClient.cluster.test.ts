import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Actor from "../src/Actor.js"
import * as EddyClient from "../src/EddyClient.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String }),
})

describe("EddyClient on a Redis Cluster", () => {
  it("connects with { cluster }, and its jobs spread over 12 partitions land on every master", async () => {
    const prefix = TestRedis.uniquePrefix()
    const seeds = TestRedis.clusterSeeds().split(",")
    const eddy = await EddyClient.connect({ cluster: seeds, prefix, partitions: 12 })
    const raw = TestRedis.raw()
    try {
      const submitted = await eddy.submitMany(
        Echo,
        Array.from({ length: 48 }, (_, index) => ({ input: { text: `t${index}` } })),
      )
      expect(submitted).toHaveLength(48)
      for (const { jobId } of submitted.slice(0, 5)) expect((await eddy.status(jobId)).state).toBe("queued")
      expect(await eddy.cancel(submitted[0]?.jobId ?? "")).toBe("cancelled")
      // Every master holds some of the jobs' records.
      if (!("nodes" in raw)) throw new Error("expected a cluster client")
      const held = await Promise.all(
        raw.nodes("master").map(async (node) => (await node.keys(`${prefix}:{p*}:jobs`)).length),
      )
      expect(held).toHaveLength(3)
      for (const count of held) expect(count).toBeGreaterThan(0)
    } finally {
      raw.disconnect()
      await eddy.close()
    }
  })

  it("rejects url and cluster together, and a bad seed list, with InvalidConnectOptions", async () => {
    await expect(
      EddyClient.connect({ url: TestRedis.url(), cluster: TestRedis.clusterSeeds().split(",") }),
    ).rejects.toMatchObject({ _tag: "InvalidConnectOptions", message: expect.stringContaining("not both") })
    await expect(EddyClient.connect({ cluster: ["nowhere"] })).rejects.toMatchObject({
      _tag: "InvalidConnectOptions",
      message: expect.stringContaining('"nowhere" is not host:port'),
    })
  })
})
