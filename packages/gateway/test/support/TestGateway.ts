/**
 * A whole eddy in one test process: the gateway on a free port of 127.0.0.1 and (optionally) a worker with handlers, over the run's redis-server with a fresh prefix.
 */
import { type Actor, EmbeddedRedis, EventTailer, Producer, RedisClient, type Settings } from "@eddy/core"
import { HttpServer } from "@effect/platform"
import { Duration, Effect, Exit, Layer, Schedule, Scope } from "effect"
import { expect } from "vitest"
import * as TestRedis from "../../../core/test/support/TestRedis.js"
import type { Handler } from "../../../workers/src/index.js"
import * as Worker from "../../../workers/src/Worker.js"
import * as Auth from "../../src/Auth.js"
import * as Gateway from "../../src/Gateway.js"

export interface Options {
  readonly contracts: ReadonlyArray<Actor.Any>
  readonly handlers?: ReadonlyArray<Handler.Any>
  /** `EDDY_API_KEYS` syntax; none: open. */
  readonly apiKeys?: string
  readonly perSecond?: number
  readonly settings?: Partial<Settings.SettingsService>
  readonly maxRequestBytes?: number
  readonly url?: string
}

/** The base layer: Redis, settings, producer. */
export const base = (options: Pick<Options, "settings" | "url"> = {}) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer({ ...TestRedis.targetFor(options.url ?? TestRedis.url()), timeout: "1 second" }),
      TestRedis.settings({ prefix: TestRedis.uniquePrefix(), ...options.settings }),
    ),
  )

/** Gateway and worker over a base layer; the layer's output gives the URL. */
export const layer = (options: Options) => {
  const keys = Layer.succeed(Auth.ApiKeys, {
    keys:
      options.apiKeys === undefined
        ? []
        : Auth.parseKeys(options.apiKeys).pipe((e) => (e._tag === "Right" ? e.right : [])),
    perSecond: options.perSecond ?? 1_000,
  })
  const gateway = Gateway.layer(options.contracts, {
    host: "127.0.0.1",
    port: 0,
    maxRequestBytes: options.maxRequestBytes ?? 16 * 1024 * 1024,
  }).pipe(Layer.provide(keys))
  const worker =
    options.handlers === undefined || options.handlers.length === 0
      ? Layer.empty
      : Layer.orDie(Worker.layer({ handlers: options.handlers, concurrency: 20, blockFor: "200 millis" }))
  return Layer.mergeAll(gateway, worker).pipe(Layer.provideMerge(base(options)))
}

/**
 * A redis-server of its own, for a test that stops it midway (`stop`) to see the gateway over it
 * answer with Redis down. Stopped with the test's scope at the latest.
 */
export const stoppableRedis = Effect.gen(function* () {
  const scope = yield* Effect.acquireRelease(Scope.make(), (scope, exit) => Scope.close(scope, exit))
  const redis = yield* EmbeddedRedis.start({ ephemeral: true, stopGrace: "2 seconds" }).pipe(Scope.extend(scope))
  return { url: redis.url, stop: Scope.close(scope, Exit.void) }
})

/** The gateway's base URL, e.g. `http://127.0.0.1:40123`. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

/** What `request` answers. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  /** Parsed JSON, or the text when it is not JSON. */
  readonly body: unknown
  readonly text: string
  /** From sending the request to the end of the body. */
  readonly ms: number
}

/** A fetch that answers status, headers and parsed JSON (or text); gives up after 20 s. */
export const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const started = performance.now()
    const response = await fetch(url, { signal: AbortSignal.timeout(20_000), ...init })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body, text, ms: performance.now() - started }
  })

/** POSTs `body` as JSON (a string is sent as it is). */
export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })

/** Whether a body is exactly `{"error":{"code":string,"message":string,"details"?:…}}`. */
export const isErrorShape = (body: unknown): boolean => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false
  if (Object.keys(body).join() !== "error") return false
  const error = (body as { error: unknown }).error
  if (typeof error !== "object" || error === null || Array.isArray(error)) return false
  const keys = Object.keys(error)
  const { code, message } = error as { code: unknown; message: unknown }
  return (
    keys.every((key) => key === "code" || key === "message" || key === "details") &&
    typeof code === "string" &&
    code.length > 0 &&
    typeof message === "string" &&
    message.length > 0 &&
    // never a stack trace
    !/\n\s+at \S/.test(JSON.stringify(error).replaceAll("\\n", "\n"))
  )
}

/** Asserts an error answer: its status, the exact shape, JSON content type, and its code. */
export const expectError = (answer: Answer, status: number, code?: string) => {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status })
  expect(isErrorShape(answer.body), `not the error shape: ${answer.text.slice(0, 300)}`).toBe(true)
  expect(answer.headers.get("content-type")).toContain("application/json")
  const error = (answer.body as { error: { code: string; message: string; details?: unknown } }).error
  if (code !== undefined) expect(error.code).toBe(code)
  return error
}

/** One Server-Sent Events message. */
export interface SseMessage {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string
}

/**
 * Reads a Server-Sent Events answer to its end: the messages (comments dropped), and whether
 * the server closed the stream by itself within `within`.
 */
export const sse = (url: string, headers: Record<string, string> = {}, within: Duration.DurationInput = "15 seconds") =>
  Effect.promise(async () => {
    const timeout = AbortSignal.timeout(Duration.toMillis(within))
    const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: timeout })
    const messages: Array<SseMessage> = []
    let buffer = ""
    let closed = false
    const decoder = new TextDecoder()
    const take = () => {
      let end = buffer.indexOf("\n\n")
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
        const fields = block.split("\n").filter((line) => !line.startsWith(":"))
        if (fields.length === 0) continue
        const field = (name: string) =>
          fields.filter((line) => line.startsWith(`${name}:`)).map((line) => line.slice(name.length + 1).trimStart())
        messages.push({ id: field("id")[0], event: field("event")[0], data: field("data").join("\n") })
      }
    }
    try {
      if (response.body === null) throw new Error("no body")
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true })
        take()
      }
      closed = true
    } catch {
      // timed out: the server kept the stream open
    }
    return { status: response.status, contentType: response.headers.get("content-type"), messages, closed }
  })

/** Runs `effect` every 50 ms until its value satisfies `until`, and answers that value; dies past `within`. */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  until: (a: A) => boolean,
  within: Duration.DurationInput = "10 seconds",
) =>
  effect.pipe(
    Effect.filterOrFail(until, () => "not yet" as const),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`condition not met within ${within}`) }),
    Effect.orDie,
  )

/** A job's status document, as the gateway answers it. */
export const status = (url: string, jobId: string, query = "") =>
  Effect.map(
    request(`${url}/v1/jobs/${jobId}${query}`),
    (answer) => answer.body as { state: string } & Record<string, unknown>,
  )
