import { EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { freePort } from "../../../core/test/support/FreePort.js"
import * as TestRedis from "../../../core/test/support/TestRedis.js"
import * as Auth from "../../../gateway/src/Auth.js"
import * as Gateway from "../../../gateway/src/Gateway.js"
import * as Actors from "../../../gateway/test/support/Actors.js"
import * as Worker from "../../../workers/src/Worker.js"

export { Actors }

export interface Options {
  /** `EDDY_API_KEYS` syntax; none: open. */
  readonly apiKeys?: string
}

/** A running system; `stop` and `start` again keep the port and the key prefix. */
export interface System {
  readonly url: string
  readonly prefix: string
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
}

const layerOf = (options: Options, port: number, prefix: string) => {
  const keys = Layer.succeed(Auth.ApiKeys, {
    keys:
      options.apiKeys === undefined
        ? []
        : Auth.parseKeys(options.apiKeys).pipe((e) => (e._tag === "Right" ? e.right : [])),
    perSecond: 10_000,
  })
  const gateway = Gateway.layer(Actors.contracts, { host: "127.0.0.1", port, maxRequestBytes: 1024 * 1024 }).pipe(
    Layer.provide(keys),
  )
  const worker = Layer.orDie(Worker.layer({ handlers: Actors.handlers, concurrency: 8, blockFor: "200 millis" }))
  return Layer.mergeAll(gateway, worker).pipe(
    Layer.provideMerge(
      Layer.provideMerge(
        Layer.merge(Producer.layer, EventTailer.layer),
        Layer.merge(
          RedisClient.layer({ url: Redacted.make(TestRedis.url()), timeout: "1 second" }),
          Settings.layer({ prefix }),
        ),
      ),
    ),
  )
}

const launch = async (options: Options, port: number, prefix: string) => {
  const scope = Effect.runSync(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(Layer.orDie(layerOf(options, port, prefix)), scope))
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}

/** Starts the system on a free port with a fresh key prefix. */
export const start = async (options: Options = {}): Promise<System> => {
  const port = await freePort()
  const prefix = TestRedis.uniquePrefix("ui")
  let stop: (() => Promise<void>) | undefined = await launch(options, port, prefix)
  return {
    url: `http://127.0.0.1:${port}`,
    prefix,
    stop: async () => {
      await stop?.()
      stop = undefined
    },
    start: async () => {
      stop ??= await launch(options, port, prefix)
    },
  }
}

/** What the gateway answers to a JSON call (for setting up and checking what the page shows). */
export const api = async <A>(
  system: System,
  method: string,
  path: string,
  body?: unknown,
  key?: string,
): Promise<A> => {
  const response = await fetch(`${system.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
  return JSON.parse(text) as A
}

/** Waits until `check` answers something other than undefined; fails past `within` ms. */
export const until = async <A>(check: () => Promise<A | undefined>, within = 15_000): Promise<A> => {
  const deadline = Date.now() + within
  while (true) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
