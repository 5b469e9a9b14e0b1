/**
 * `eddy tail` through a Redis outage: the server it follows stops for a few seconds and comes
 * back on the same port. The tail says so once on stderr, keeps running, and prints the events
 * written after the restart; stdout carries events only. Its own Redis, not the shared one.
 */
import { EmbeddedRedis } from "@eddy/core"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { eventually, describe as explain, killAll, linesOf, start } from "./support/Eddy.js"

afterEach(killAll)

/** A Redis on `port` (a free one when not given) that the test stops when it wants. */
const server = async (port?: number) => {
  const scope = Effect.runSync(Scope.make())
  const redis = await Effect.runPromise(
    EmbeddedRedis.start({ ephemeral: true, stopGrace: "2 seconds", ...(port === undefined ? {} : { port }) }).pipe(
      Scope.extend(scope),
    ),
  )
  return { port: redis.port, url: redis.url, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** Appends an event as the lifecycle scripts write it (the head, and no data). */
const append = (redis: Redis, prefix: string, jobId: string, type: "started" | "succeeded") =>
  redis.xadd(`${prefix}:{p0}:events`, "*", "e", JSON.stringify([type, jobId, "greet", 1]), "d", "")

describe("eddy tail through a Redis outage", () => {
  it("keeps running, says so once on stderr, and prints the events written once Redis is back", async () => {
    const prefix = "tail-outage"
    const first = await server()
    const env = { EDDY_REDIS_URL: first.url, EDDY_PREFIX: prefix }
    const tail = start(["tail"], env)
    let second: Awaited<ReturnType<typeof server>> | undefined
    try {
      const following = async (url: string) => {
        const observer = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
        try {
          await eventually("the tail's blocking read", async () => {
            const clients = await observer.client("LIST").catch(() => "")
            return String(clients).includes(`:${tail.pid}:tail `) ? true : undefined
          })
        } finally {
          observer.disconnect()
        }
      }
      await following(first.url)
      const before = new Redis(first.url)
      await append(before, prefix, "JOB-BEFORE", "started")
      before.disconnect()
      await tail.waitFor("the event before the outage", (out) => out.includes("JOB-BEFORE"))

      await first.stop()
      await eventually("the outage on stderr", () =>
        tail.stderr().includes("Redis is unreachable") ? true : undefined,
      )
      // Down for a while longer: several of the tail's retries fail.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      expect(tail.isRunning(), tail.stderr()).toBe(true)

      second = await server(first.port)
      await following(second.url)
      const after = new Redis(second.url)
      await append(after, prefix, "JOB-AFTER", "succeeded")
      after.disconnect()
      await tail.waitFor("the event after the outage", (out) => out.includes("JOB-AFTER"))

      const stopped = await tail.stop("SIGINT")
      expect(stopped.code, explain(tail.args, stopped)).toBe(0)
      const lines = linesOf(stopped.stdout)
      expect(lines.map((line) => line.split(/ {2,}/).slice(1, 4).join(" "))).toEqual([
        "started greet JOB-BEFORE",
        "succeeded greet JOB-AFTER",
      ])
      const said = linesOf(stopped.stderr)
      expect(said.filter((line) => line.includes("Redis is unreachable"))).toHaveLength(1)
      expect(said.at(-1)).toBe("eddy tail: reading again")
    } finally {
      await second?.stop()
      await first.stop().catch(() => {})
    }
  }, 90_000)
})
