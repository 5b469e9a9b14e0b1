/**
 * The requests the gateway fuzz test sends: fast-check generators for random paths, methods,
 * headers and bodies, for real routes with bad ids, parameters and bodies, and for random JSON
 * submissions, with the keys and limits the fuzzed gateway runs with.
 */
import type { Actor } from "@eddy/core"
import fc from "fast-check"
import * as Actors from "./Actors.js"

export const maxRequestBytes = 64 * 1024
export const maxPayloadBytes = 4 * 1024
export const adminKey = "fuzz-admin-key"
export const readKey = "fuzz-read-key"
export const contracts: ReadonlyArray<Actor.Any> = [Actors.Greet, Actors.Order, Actors.Anything, Actors.Parked]

export interface FuzzRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: Buffer
}

const tokenChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 20 })
/** What Node lets a client put in a header value: visible ASCII, space, tab and Latin-1. */
const headerValue = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant("\t"),
    ),
    maxLength,
  })

/** A path segment: route words, dot segments, bad escapes, unicode (escaped or as raw bytes). */
const segment = fc.oneof(
  fc.constantFrom("v1", "actors", "jobs", "batch", "events", "cancel", "dead-letters", "retry", "greet", "order"),
  fc.constantFrom("..", ".", "", "%2e%2e", "%2F", "%00", "%ZZ", "%", "~", "a".repeat(300), "*", ";", "@"),
  fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent),
  // UTF-8 bytes as they are, unescaped (Node sends them as Latin-1 characters).
  fc.string({ unit: "grapheme", maxLength: 6 }).map((s) => Buffer.from(s, "utf8").toString("latin1")),
  token,
)

const query = fc.oneof(
  fc.constant(""),
  fc.dictionary(segment, segment, { maxKeys: 3 }).map((params) =>
    Object.keys(params).length === 0
      ? "?"
      : `?${Object.entries(params)
          .map(([k, v]) => `${k}=${v}`)
          .join("&")}`,
  ),
  fc.constantFrom("?waitMs=-1", "?waitMs=1e9", "?waitMs=abc", "?waitMs=99999999999999999999", "?limit=0"),
)

const randomPath = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 6 }), query)
  .map(([segments, q]) => `/${segments.join("/")}${q}`)

const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PURGE", "FOO")
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=latin1",
  "text/plain",
  "text/html",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "multipart/form-data",
  "application/octet-stream",
  "application/xml",
  "*/*",
  "",
)

/** A JSON text cut short so that it no longer parses. */
const truncatedJson = fc
  .tuple(fc.jsonValue({ maxDepth: 4 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([value, at]) => {
    const text = JSON.stringify({ input: value })
    const cut = text.slice(0, Math.floor(text.length * at))
    try {
      JSON.parse(cut)
      return `${cut}{`
    } catch {
      return cut
    }
  })

const garbageBody = fc.oneof(
  truncatedJson.map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: "binary", maxLength: 500 }).map((text) => Buffer.from(text)),
  fc
    .integer({ min: 1_000, max: 200_000 })
    .map((depth) => Buffer.from(`{"input":${"[".repeat(depth)}${"]".repeat(depth)}}`)),
  fc.integer({ min: maxRequestBytes + 1, max: maxRequestBytes * 4 }).map((size) => Buffer.alloc(size, 0x61)),
  fc.constantFrom(Buffer.from("{}"), Buffer.from("null"), Buffer.from('{"input":'), Buffer.from("\ufeff{")),
)

const auth = fc.oneof(
  fc.constant({}),
  headerValue(40).map((v) => ({ authorization: `Bearer ${v}` })),
  headerValue(40).map((v) => ({ "x-api-key": v })),
  fc.constant({ authorization: "Basic ZnV6ei1hZG1pbi1rZXk6" }),
  fc.constant({ authorization: `Bearer ${adminKey}x` }),
  fc.constant({ authorization: `Bearer ${"k".repeat(8_000)}` }),
)

const extraHeaders = fc
  .array(fc.tuple(token, headerValue(200)), { maxLength: 8 })
  .chain((pairs) =>
    fc.oneof(
      { arbitrary: fc.constant(pairs), weight: 4 },
      // Large, but within Node's 16 KiB header limit…
      {
        arbitrary: fc
          .integer({ min: 1_000, max: 12_000 })
          .map((n) => [...pairs, ["x-big", "b".repeat(n)] as [string, string]]),
        weight: 2,
      },
      // …and past it.
      {
        arbitrary: fc
          .integer({ min: 17_000, max: 40_000 })
          .map((n) => [...pairs, ["x-huge", "h".repeat(n)] as [string, string]]),
        weight: 1,
      },
    ),
  )
  .map((pairs) => {
    const headers: Record<string, string> = {}
    for (const [name, value] of pairs)
      if (
        !["content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"].includes(name.toLowerCase())
      )
        headers[name] = value
    return headers
  })

/** Real routes, with unknown ids and bad parameters. */
const id = fc.oneof(segment, fc.uuid(), fc.constant(".."))
const route = fc.oneof(
  id.map((j) => ({ method: "GET", path: `/v1/jobs/${j}` })),
  fc.tuple(id, query).map(([j, q]) => ({ method: "GET", path: `/v1/jobs/${j}${q}` })),
  id.map((j) => ({ method: "GET", path: `/v1/jobs/${j}/events` })),
  id.map((j) => ({ method: "POST", path: `/v1/jobs/${j}/cancel` })),
  id.map((j) => ({ method: "POST", path: `/v1/dead-letters/${j}/retry` })),
  id.map((j) => ({ method: "DELETE", path: `/v1/dead-letters/${j}` })),
  fc
    .constantFrom("?limit=0", "?limit=1001", "?limit=x", "?cursor=abc", "?actor=nobody", "?cursor=1-")
    .map((q) => ({ method: "GET", path: `/v1/dead-letters${q}` })),
  fc
    .constantFrom("greet", "order", "anything", "parked")
    .map((a) => ({ method: "POST", path: `/v1/actors/${a}/jobs` })),
  fc.constantFrom("greet", "anything").map((a) => ({ method: "POST", path: `/v1/actors/${a}/jobs/batch` })),
  id.map((a) => ({ method: "POST", path: `/v1/actors/${a}/jobs` })),
  fc
    .tuple(fc.constantFrom("HEAD", "OPTIONS", "PUT", "PATCH"), id)
    .map(([m, j]) => ({ method: m, path: `/v1/jobs/${j}` })),
)

/** Anything, to anywhere (real routes too), without a valid key: refused (400, 401, 404, 413 or 431). */
export const unauthenticated = fc
  .record({
    target: fc.oneof(fc.record({ method, path: randomPath }), route),
    contentType,
    auth,
    extra: extraHeaders,
    body: fc.option(garbageBody, { nil: undefined }),
  })
  .map(
    ({ target: { method, path }, contentType, auth, extra, body }): FuzzRequest => ({
      method,
      path,
      headers: { ...extra, ...auth, ...(contentType === undefined ? {} : { "content-type": contentType }) },
      ...(body === undefined || method === "GET" || method === "HEAD" ? {} : { body }),
    }),
  )

/** Real routes with a valid key, but unknown ids, bad parameters or bad bodies: refused. */
export const authenticated = fc
  .record({
    route,
    contentType,
    accept: fc.constantFrom(undefined, "text/event-stream", "application/json", "*/*", "text/event-stream;q=0"),
    key: fc.constantFrom(adminKey, readKey),
    extra: extraHeaders,
    body: garbageBody,
  })
  .map(({ route, contentType, accept, key, extra, body }): FuzzRequest => {
    const submits = route.path.startsWith("/v1/actors/") && route.path.includes("/jobs")
    return {
      method: route.method,
      path: route.path,
      headers: {
        ...extra,
        authorization: `Bearer ${key}`,
        ...(contentType === undefined ? {} : { "content-type": contentType }),
        ...(accept === undefined ? {} : { accept }),
      },
      // Submissions get a bad body; other routes any body or none.
      ...(submits || route.method === "POST" || route.method === "DELETE" ? { body } : {}),
    }
  })

/** Random JSON as a submission: answered exactly as the contract's Schema decides. */
const envelope = fc.record(
  {
    input: fc.oneof(
      fc.jsonValue({ maxDepth: 5 }),
      fc.record({ name: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })) }),
      fc.record({
        customer: fc.record({ email: fc.oneof(fc.emailAddress(), fc.string()) }),
        items: fc.array(fc.record({ sku: fc.string(), qty: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double()) })),
      }),
      fc.record({ i: fc.oneof(fc.integer(), fc.double(), fc.string()) }),
      fc.string({ unit: "grapheme", minLength: 3_000, maxLength: 6_000 }),
    ),
    // Mostly valid options, sometimes not.
    idempotencyKey: fc.oneof(
      { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), weight: 4 },
      { arbitrary: fc.string({ unit: "grapheme", maxLength: 300 }), weight: 1 },
    ),
    delayMs: fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 5_000 }), weight: 4 },
      {
        arbitrary: fc.oneof(fc.integer({ min: -10, max: -1 }), fc.double(), fc.constant(365 * 24 * 3600 * 1000 + 1)),
        weight: 1,
      },
    ),
    lane: fc.oneof(
      { arbitrary: fc.constantFrom("high", "normal", "low"), weight: 4 },
      { arbitrary: fc.constantFrom("HIGH", "urgent", ""), weight: 1 },
    ),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ["input"] },
)
export const submissions = fc.record({ actor: fc.constantFrom(...contracts.map((c) => c.name)), envelope })
