import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Data, Effect, FiberRef, Logger, LogLevel, Option, Redacted } from "effect"
import * as Logging from "../src/Logging.js"

/** An in-memory destination: the lines pino writes, as written. */
const capture = () => {
  const lines: Array<string> = []
  const destination = { write: (line: string) => void lines.push(line) }
  const parsed = () =>
    lines.flatMap((chunk) => chunk.split("\n").filter((line) => line !== "")).map((l) => JSON.parse(l))
  return { lines, destination, parsed, text: () => lines.join("") }
}

const withLogger = (level: LogLevel.LogLevel, destination: { write: (line: string) => void }) =>
  Effect.provide(Logging.layer({ pretty: false, level, destination }))

class LoginFailed extends Data.TaggedError("LoginFailed")<{ readonly user: string; readonly password: string }> {}

describe("Logging", () => {
  it.effect("writes one JSON line per entry, with level, message, time and annotations as fields", () =>
    Effect.gen(function* () {
      const out = capture()
      const cyclic: Record<string, unknown> = { name: "loop" }
      cyclic.self = cyclic
      yield* Effect.logInfo("job started").pipe(
        Effect.annotateLogs({ actor: "a", jobId: "j" }),
        Effect.annotateLogs("attempt", 2),
        Effect.annotateLogs({ at: new Date(0), tags: ["x", "y"], lane: Option.some("high"), cyclic }),
        Effect.withLogSpan("handle"),
        withLogger(LogLevel.Info, out.destination),
      )
      yield* Effect.logWarning("two", "parts").pipe(withLogger(LogLevel.Info, out.destination))
      expect(out.lines.every((line) => line.endsWith("\n"))).toBe(true)
      const [first, second] = out.parsed()
      expect(out.parsed()).toHaveLength(2)
      expect(first).toMatchObject({ level: 30, msg: "job started", actor: "a", jobId: "j", attempt: 2 })
      expect(first.spans).toEqual(["handle"])
      expect(first.at).toBe("1970-01-01T00:00:00.000Z")
      expect(first.tags).toEqual(["x", "y"])
      expect(first.cyclic).toEqual({ name: "loop", self: "[Circular]" })
      expect(first.lane).toMatchObject({ _tag: "Some", value: "high" })
      expect(typeof first.time).toBe("string")
      expect(first.pid).toBe(process.pid)
      expect(second).toMatchObject({ level: 40, msg: "two parts" })
    }),
  )

  it.effect("maps every Effect level to the pino level", () =>
    Effect.gen(function* () {
      const out = capture()
      yield* Effect.all([
        Effect.logTrace("t"),
        Effect.logDebug("d"),
        Effect.logInfo("i"),
        Effect.logWarning("w"),
        Effect.logError("e"),
        Effect.logFatal("f"),
      ]).pipe(withLogger(LogLevel.All, out.destination))
      expect(out.parsed().map((line) => [line.msg, line.level])).toEqual([
        ["t", 10],
        ["d", 20],
        ["i", 30],
        ["w", 40],
        ["e", 50],
        ["f", 60],
      ])
    }),
  )

  it.effect("the minimum level filters", () =>
    Effect.gen(function* () {
      const warnings = capture()
      yield* Effect.all([Effect.logDebug("d"), Effect.logInfo("i"), Effect.logWarning("w"), Effect.logError("e")]).pipe(
        withLogger(LogLevel.Warning, warnings.destination),
      )
      expect(warnings.parsed().map((line) => line.msg)).toEqual(["w", "e"])

      // Below Effect's default minimum (Info): the layer lowers it.
      const debug = capture()
      yield* Effect.all([Effect.logTrace("t"), Effect.logDebug("d")]).pipe(
        withLogger(LogLevel.Debug, debug.destination),
      )
      expect(debug.parsed().map((line) => line.msg)).toEqual(["d"])

      const none = capture()
      yield* Effect.logFatal("f").pipe(withLogger(LogLevel.None, none.destination))
      expect(none.lines).toEqual([])
    }),
  )

  it.effect("secret-named fields and Redacted values never reach the output", () =>
    Effect.gen(function* () {
      const out = capture()
      const secrets = [
        "pw-top",
        "pw-nested",
        "pw-deep",
        "tok-redacted",
        "msg-redacted",
        "msg-object-pw",
        "deep-redacted",
        "key-camel",
        "cause-pw",
        "url-pw",
      ]
      yield* Effect.all([
        Effect.logInfo("annotations").pipe(
          Effect.annotateLogs({
            password: "pw-top",
            config: { password: "pw-nested", host: "h" },
            deep: { level1: { level2: { password: "pw-deep" } } },
            token: Redacted.make("tok-redacted"),
            settings: { inner: [{ value: Redacted.make("deep-redacted") }] },
            redisPassword: "key-camel",
            url: "redis://:url-pw@host",
          }),
        ),
        Effect.logInfo("connecting with", Redacted.make("msg-redacted"), { password: "msg-object-pw" }),
        Effect.logError("login failed", Cause.fail(new LoginFailed({ user: "ann", password: "cause-pw" }))),
      ]).pipe(withLogger(LogLevel.Info, out.destination))

      const text = out.text()
      for (const secret of secrets) expect(text).not.toContain(secret)
      const [annotations, message, failure] = out.parsed()
      expect(annotations).toMatchObject({
        password: "<redacted>",
        config: { password: "<redacted>", host: "h" },
        deep: { level1: { level2: { password: "<redacted>" } } },
        token: "<redacted>",
        settings: { inner: [{ value: "<redacted>" }] },
        redisPassword: "<redacted>",
      })
      expect(message.msg).toBe('connecting with <redacted> {"password":"<redacted>"}')
      expect(failure.msg).toBe("login failed")
      expect(failure.err).toContain("LoginFailed")
      expect(failure.level).toBe(50)
    }),
  )

  it.effect("secrets in failures rendered as JSON are censored too", () =>
    Effect.gen(function* () {
      const out = capture()
      yield* Effect.logError("failed", Cause.fail({ password: "fail-pw", code: 7 })).pipe(
        withLogger(LogLevel.Info, out.destination),
      )
      yield* Effect.logError("died", Cause.die({ apiKey: "die-key", token: Redacted.make("die-token") })).pipe(
        withLogger(LogLevel.Info, out.destination),
      )
      const text = out.text()
      for (const secret of ["fail-pw", "die-key", "die-token"]) expect(text).not.toContain(secret)
      const [failed, died] = out.parsed()
      expect(failed.err).toContain('"code":7')
      expect(died.err).toContain("<redacted>")
    }),
  )

  it.effect("the logger and its level hold only inside the effect they are provided to", () =>
    Effect.gen(function* () {
      const inside = capture()
      yield* Effect.logDebug("inside").pipe(withLogger(LogLevel.Debug, inside.destination))
      yield* Effect.logDebug("after")
      yield* Effect.logInfo("after")
      expect(inside.parsed().map((line) => line.msg)).toEqual(["inside"])
      expect(yield* FiberRef.get(FiberRef.currentMinimumLogLevel)).toEqual(LogLevel.Info)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))),
  )

  it.effect("layerConfig sets the minimum level from EDDY_LOG_LEVEL", () =>
    Effect.gen(function* () {
      const minimum = (env: Record<string, string>) =>
        FiberRef.get(FiberRef.currentMinimumLogLevel).pipe(
          Effect.provide(Logging.layerConfig),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
        )
      expect(yield* minimum({ EDDY_LOG_LEVEL: "error", EDDY_LOG_PRETTY: "false" })).toEqual(LogLevel.Error)
      expect(yield* minimum({ EDDY_LOG_LEVEL: "warning", EDDY_LOG_PRETTY: "false" })).toEqual(LogLevel.Warning)
      expect(yield* minimum({ EDDY_LOG_PRETTY: "false" })).toEqual(LogLevel.Info)
      const error = yield* Effect.flip(minimum({ EDDY_LOG_LEVEL: "loud" }))
      expect(String(error)).toContain("EDDY_LOG_LEVEL")
    }),
  )
})

describe("Logging layered twice", () => {
  it.effect("a second layer replaces the first: each line is written once, by the newer logger", () =>
    Effect.gen(function* () {
      const first: Array<string> = []
      const second: Array<string> = []
      const sink = (lines: Array<string>) => ({ write: (line: string) => lines.push(line) })
      const outer = Logging.layer({ level: LogLevel.Info, pretty: false, destination: sink(first) })
      const inner = Logging.layer({ level: LogLevel.Info, pretty: false, destination: sink(second) })
      yield* Effect.logInfo("once").pipe(Effect.provide(inner), Effect.provide(outer))
      expect(first).toEqual([])
      expect(second).toHaveLength(1)
    }),
  )
})
