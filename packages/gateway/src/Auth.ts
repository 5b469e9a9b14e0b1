/**
 * API keys. `EDDY_API_KEYS` (or the file named by `EDDY_API_KEYS_FILE`) holds
 * `key:scope+scope,key:scope`, e.g. `s3cret:submit+read,ops:admin`; scopes are `submit`, `read`
 * and `admin` (which implies the other two). A request carries its key as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`. Keys are compared in constant time and
 * never logged; each key has a request rate (`EDDY_API_RATE` per second) past which it gets 429.
 * With no keys configured the gateway is open and binds to 127.0.0.1 only.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { EddyConfig } from "@eddy/core"
import { HttpServerRequest } from "@effect/platform"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import * as Api from "./Api.js"
import { Forbidden, TooManyRequests, Unauthorized } from "./ApiErrors.js"

export type Scope = "submit" | "read" | "admin"
const scopeNames: ReadonlyArray<Scope> = ["submit", "read", "admin"]

/** One configured key: only its digest is kept for comparison. */
export interface ApiKey {
  readonly digest: Buffer
  readonly scopes: ReadonlySet<Scope>
  /** A short, non-secret label for rate limiting and logs. */
  readonly label: string
}

const digest = (key: string) => createHash("sha256").update(key).digest()

/** Parses `key:scope+scope,…`; the error names the bad entry by position, never the key. */
export const parseKeys = (text: string): Either.Either<ReadonlyArray<ApiKey>, string> => {
  const keys: Array<ApiKey> = []
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
  for (const [index, entry] of entries.entries()) {
    const at = entry.lastIndexOf(":")
    const key = at > 0 ? entry.slice(0, at) : ""
    const scopes = at > 0 ? entry.slice(at + 1).split("+") : []
    if (key.length < 4 || scopes.length === 0 || !scopes.every((s) => scopeNames.includes(s as Scope)))
      return Either.left(
        `entry ${index + 1} must be key:scope+scope with a key of 4 or more characters and scopes from submit, read, admin`,
      )
    const hash = digest(key)
    keys.push({ digest: hash, scopes: new Set(scopes as Array<Scope>), label: hash.toString("hex").slice(0, 8) })
  }
  return Either.right(keys)
}

/** The configured keys; empty means the gateway is open (and bound to 127.0.0.1). */
export class ApiKeys extends Context.Tag("@eddy/gateway/ApiKeys")<
  ApiKeys,
  { readonly keys: ReadonlyArray<ApiKey>; readonly perSecond: number }
>() {}

const keysFrom = (name: string, text: string) =>
  Either.match(parseKeys(text), {
    onLeft: (message) => Effect.fail(ConfigError.InvalidData([name], message)),
    onRight: Effect.succeed,
  })

/** Keys from `EDDY_API_KEYS` or `EDDY_API_KEYS_FILE`, and the rate from `EDDY_API_RATE`. */
export const layerConfig = Layer.effect(
  ApiKeys,
  Effect.gen(function* () {
    const inline = yield* Config.option(Config.redacted("EDDY_API_KEYS"))
    const file = yield* Config.option(Config.string("EDDY_API_KEYS_FILE"))
    const perSecond = yield* EddyConfig.integerIn("EDDY_API_RATE", 1, 1_000_000).pipe(Config.withDefault(1_000))
    if (Option.isSome(inline))
      return { keys: yield* keysFrom("EDDY_API_KEYS", Redacted.value(inline.value)), perSecond }
    if (Option.isSome(file)) {
      const text = yield* Effect.try({
        try: () => readFileSync(file.value, "utf8"),
        catch: () => ConfigError.InvalidData(["EDDY_API_KEYS_FILE"], `cannot read ${JSON.stringify(file.value)}`),
      })
      return { keys: yield* keysFrom("EDDY_API_KEYS_FILE", text), perSecond }
    }
    return { keys: [], perSecond }
  }),
)

/** Finds the key a request presents, comparing against every key in constant time. */
export const find = (keys: ReadonlyArray<ApiKey>, presented: string): Option.Option<ApiKey> => {
  const candidate = digest(presented)
  let found: ApiKey | undefined
  for (const key of keys) if (timingSafeEqual(key.digest, candidate) && found === undefined) found = key
  return Option.fromNullable(found)
}

const presentedKey = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const authorization = headers.authorization
  if (authorization !== undefined && /^bearer\s+/i.test(authorization)) return authorization.replace(/^bearer\s+/i, "")
  return headers["x-api-key"]
}

/**
 * What the key a request presents may do: every scope when the gateway is open; `admin` implies
 * the others. Asked after the read check passed, so the key is known.
 */
export const sessionOf = (
  keys: ReadonlyArray<ApiKey>,
  headers: Readonly<Record<string, string | undefined>>,
): { readonly auth: "open" | "key"; readonly scopes: ReadonlyArray<Scope> } => {
  if (keys.length === 0) return { auth: "open", scopes: scopeNames }
  const key = find(keys, presentedKey(headers) ?? "")
  if (Option.isNone(key)) return { auth: "key", scopes: [] }
  return { auth: "key", scopes: key.value.scopes.has("admin") ? scopeNames : [...key.value.scopes] }
}

/** Fixed one-second windows per key: enough to shed a runaway client. */
const makeRateWindow = (perSecond: number) => {
  const windows = new Map<string, { second: number; count: number }>()
  return (label: string): boolean => {
    const second = Math.floor(Date.now() / 1000)
    const window = windows.get(label)
    if (window === undefined || window.second !== second) {
      if (windows.size > 10_000) windows.clear()
      windows.set(label, { second, count: 1 })
      return true
    }
    window.count += 1
    return window.count <= perSecond
  }
}

const check = (scope: Scope, keys: ReadonlyArray<ApiKey>, perSecond: number, allow: (label: string) => boolean) =>
  Effect.gen(function* () {
    if (keys.length === 0) return
    const request = yield* HttpServerRequest.HttpServerRequest
    const presented = presentedKey(request.headers)
    if (presented === undefined || presented === "")
      return yield* new Unauthorized({
        code: "unauthorized",
        message: "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
      })
    const key = find(keys, presented)
    if (Option.isNone(key)) return yield* new Unauthorized({ code: "unauthorized", message: "unknown API key" })
    if (!key.value.scopes.has(scope) && !key.value.scopes.has("admin"))
      return yield* new Forbidden({ code: "forbidden", message: `this key lacks the ${scope} scope` })
    if (!allow(key.value.label))
      return yield* new TooManyRequests({
        code: "rate_limited",
        message: `over ${perSecond} requests per second for this key`,
      })
  })

/** The three scope checks, as HttpApi middleware, sharing one rate window per key. */
export const layer = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { keys, perSecond } = yield* ApiKeys
    const allow = makeRateWindow(perSecond)
    return Layer.mergeAll(
      Layer.succeed(Api.RequireSubmit, check("submit", keys, perSecond, allow)),
      Layer.succeed(Api.RequireRead, check("read", keys, perSecond, allow)),
      Layer.succeed(Api.RequireAdmin, check("admin", keys, perSecond, allow)),
    )
  }),
)
