/**
 * Fuzzing the gateway over real HTTP (fixed seed): random paths (unicode, `..`, bad escapes),
 * methods, headers (up to and past Node's header limit), bodies (random, truncated, too deep,
 * too large, wrong content types) and random JSON inputs. Every answer must be a 4xx in the
 * error shape (or, for random inputs, exactly what the contract's Schema says), never a 5xx;
 * HEAD answers carry no body. Afterwards the gateway still serves valid requests.
 */
import { Agent, request as httpRequest } from "node:http"
import { connect } from "node:net"
import type { Actor } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import fc from "fast-check"
import { SubmitRequest } from "../src/Api.js"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const seed = 20_261_123
const maxRequestBytes = 64 * 1024
const maxPayloadBytes = 4 * 1024
const adminKey = "fuzz-admin-key"
const readKey = "fuzz-read-key"
const contracts: ReadonlyArray<Actor.Any> = [Actors.Greet, Actors.Order, Actors.Anything, Actors.Parked]

interface FuzzRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: Buffer
}

interface FuzzAnswer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/** Sends a request as it is (no URL normalization), answering status, headers and body. */
const send = (base: URL, req: FuzzRequest) =>
  new Promise<FuzzAnswer>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: req.method,
        // Node sends Latin-1 as it is but refuses spaces and controls: escape those.
        path: req.path.replace(/[^\u0021-\u00ff]/gu, (c) => encodeURIComponent(c)),
        // Framed as clients do (Node adds no length to a DELETE's body, which would run into the
        // next request on the connection).
        headers: req.body === undefined ? req.headers : { ...req.headers, "content-length": String(req.body.length) },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        )
        response.on("error", reject)
      },
    )
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within 10 s: ${req.method} ${req.path}`)))
    outgoing.on("error", reject)
    if (req.body !== undefined) outgoing.end(req.body)
    else outgoing.end()
  })

/** The gateway's contract for every answer to a bad request. */
const expectRefusal = (req: FuzzRequest, answer: FuzzAnswer) => {
  const context = `${req.method} ${req.path} -> ${answer.status} ${answer.body.slice(0, 200)}`
  expect(answer.status, context).toBeGreaterThanOrEqual(400)
  expect(answer.status, context).toBeLessThan(500)
  expectShape(req, answer, context)
}

const expectShape = (req: FuzzRequest, answer: FuzzAnswer, context: string) => {
  if (req.method === "HEAD") return expect(answer.body, context).toBe("")
  // Node answers requests it cannot parse (bad method, bytes or header size) itself, bodiless.
  if (answer.body === "") {
    expect([400, 431], context).toContain(answer.status)
    return expect(answer.headers.connection, context).toBe("close")
  }
  if (answer.status >= 400) {
    let parsed: unknown
    expect(() => {
      parsed = JSON.parse(answer.body)
    }, context).not.toThrow()
    expect(TestGateway.isErrorShape(parsed), context).toBe(true)
  }
}

// --- generators -------------------------------------------------------------------------------

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
const unauthenticated = fc
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
const authenticated = fc
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
const submissions = fc.record({ actor: fc.constantFrom(...contracts.map((c) => c.name)), envelope })

/** What the gateway should answer a submission: accepted, or refused with 400 or 413. */
const expectedOutcome = (actor: string, body: unknown): "accepted" | "refused" => {
  const request = Schema.decodeUnknownEither(SubmitRequest)(body)
  if (Either.isLeft(request)) return "refused"
  const contract = contracts.find((c) => c.name === actor)
  if (contract === undefined) return "refused"
  const decoded = Schema.decodeUnknownEither(contract.input)(request.right.input)
  if (Either.isLeft(decoded)) return "refused"
  const encoded = Schema.encodeEither(contract.input)(decoded.right)
  if (Either.isLeft(encoded)) return "refused"
  return Buffer.byteLength(JSON.stringify(encoded.right), "utf8") > maxPayloadBytes ? "refused" : "accepted"
}

/** Raw bytes no HTTP client would send. */
const rawRequests = [
  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  "POST /v1/actors/greet/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
  "POST /v1/actors/greet/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  "GET /v1/jobs/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n",
  "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003",
  "GET /v1/actors HTTP/9.9\r\nHost: x\r\n\r\n",
  "GET  HTTP/1.1\r\n\r\n",
  `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
]

/** Writes raw bytes; answers the status line, or "" if the server closed without one. */
const sendRaw = (base: URL, text: string) =>
  new Promise<string>((resolve) => {
    const socket = connect({ host: base.hostname, port: Number(base.port) })
    let received = ""
    socket.setTimeout(5_000, () => {
      socket.destroy()
      resolve(`timeout after ${received.slice(0, 40)}`)
    })
    socket.on("data", (data) => {
      received += data.toString("latin1")
    })
    socket.on("error", () => undefined)
    socket.on("close", () => resolve(received.split("\r\n")[0] ?? ""))
    socket.write(Buffer.from(text, "latin1"), () => socket.end())
  })

describe("fuzz", () => {
  it.scopedLive(
    "1,500 random and malformed requests are each refused with a 4xx in the error shape; valid ones still work after",
    () =>
      Effect.gen(function* () {
        const base = new URL(yield* TestGateway.baseUrl)
        const statuses = new Map<number, number>()
        const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
        let accepted = 0

        yield* Effect.promise(async () => {
          await fc.assert(
            fc.asyncProperty(unauthenticated, async (req) => {
              const answer = await send(base, req)
              count(answer.status)
              expectRefusal(req, answer)
            }),
            { seed, numRuns: 500 },
          )
          await fc.assert(
            fc.asyncProperty(authenticated, async (req) => {
              const answer = await send(base, req)
              count(answer.status)
              expectRefusal(req, answer)
            }),
            { seed, numRuns: 500 },
          )
          await fc.assert(
            fc.asyncProperty(submissions, async ({ actor, envelope }) => {
              const req: FuzzRequest = {
                method: "POST",
                path: `/v1/actors/${actor}/jobs`,
                headers: { "content-type": "application/json", "x-api-key": adminKey },
                body: Buffer.from(JSON.stringify(envelope)),
              }
              const answer = await send(base, req)
              count(answer.status)
              const expected = expectedOutcome(actor, envelope)
              const context = `${actor} ${JSON.stringify(envelope).slice(0, 300)} -> ${answer.status} ${answer.body.slice(0, 300)}`
              if (expected === "accepted") {
                accepted++
                expect([200, 202], context).toContain(answer.status)
                expect(JSON.parse(answer.body), context).toMatchObject({
                  jobId: expect.any(String),
                  status: expect.stringMatching(/^(queued|delayed|active|succeeded)$/),
                })
              } else {
                expect([400, 413], context).toContain(answer.status)
                expectShape(req, answer, context)
              }
            }),
            { seed, numRuns: 500 },
          )
        })

        const raw = yield* Effect.forEach(rawRequests, (text) => Effect.promise(() => sendRaw(base, text)))
        raw.forEach((line, i) => {
          // Node answers what it cannot parse with a bodiless 4xx, or hangs up on non-HTTP bytes.
          if (line !== "") expect(line, `raw request ${i}`).toMatch(/^HTTP\/1\.1 4\d\d /)
        })

        // Every status seen was a refusal, or the acceptance of a valid submission.
        for (const status of statuses.keys()) expect([200, 202, 400, 401, 403, 404, 409, 413, 431]).toContain(status)
        expect(statuses.get(400)).toBeGreaterThan(100)
        expect(statuses.get(401)).toBeGreaterThan(50)
        expect(statuses.get(404)).toBeGreaterThan(50)
        expect(statuses.get(413)).toBeGreaterThan(10)
        expect(statuses.get(431)).toBeGreaterThan(10)
        expect(accepted).toBeGreaterThan(50)

        // Still serving.
        const url = base.origin
        const submitted = yield* TestGateway.post(
          `${url}/v1/actors/greet/jobs`,
          { input: { name: "after" } },
          { authorization: `Bearer ${adminKey}` },
        )
        expect(submitted.status).toBe(202)
        const { jobId } = submitted.body as { jobId: string }
        const done = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, {
          headers: { authorization: `Bearer ${readKey}` },
        })
        expect(done.body).toMatchObject({ state: "succeeded", output: { greeting: "hello after" } })
        expect((yield* TestGateway.request(`${url}/readyz`)).status).toBe(200)
        agent.destroy()
      }).pipe(
        Effect.provide(
          TestGateway.layer({
            contracts,
            handlers: [Actors.greet, Actors.order],
            apiKeys: `${adminKey}:admin,${readKey}:read`,
            perSecond: 1_000_000,
            maxRequestBytes,
            settings: { maxPayloadBytes },
          }),
        ),
      ),
    60_000,
  )
})
