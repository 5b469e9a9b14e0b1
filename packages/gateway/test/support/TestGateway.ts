/**
 * A whole eddy in one test process: the gateway on a free port of 127.0.0.1, the projector,
 * and (optionally) a worker with handlers, over the run's redis-server with a fresh prefix.
 */
import { type Actor, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { HttpServer } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import * as TestRedis from "../../../core/test/support/TestRedis.js"
import type { Handler } from "../../../workers/src/index.js"
import * as Worker from "../../../workers/src/Worker.js"
import * as Auth from "../../src/Auth.js"
import * as Gateway from "../../src/Gateway.js"
import * as Projector from "../../src/Projector.js"

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
      RedisClient.layer({ url: Redacted.make(options.url ?? TestRedis.url()), timeout: "1 second" }),
      Settings.layer({ prefix: TestRedis.uniquePrefix(), ...options.settings }),
    ),
  )

/** Gateway, projector and worker over a base layer; the layer's output gives the URL. */
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
  return Layer.mergeAll(gateway, Projector.layer, worker).pipe(Layer.provideMerge(base(options)))
}

/** The gateway's base URL, e.g. `http://127.0.0.1:40123`. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

/** A fetch that answers status, headers and parsed JSON (or text). */
export const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body }
  })
