/**
 * Fuzzing the gateway over real HTTP (fixed seed): random paths (unicode, `..`, bad escapes),
 * methods, headers (up to and past Node's header limit), bodies (random, truncated, too deep,
 * too large, wrong content types) and random JSON inputs. Every answer must be a 4xx in the
 * error shape (or, for random inputs, exactly what the contract's Schema says), never a 5xx;
 * HEAD answers carry no body. Afterwards the gateway still serves valid requests.
 */
import { Agent, request as httpRequest } from "node:http"
import { connect } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import fc from "fast-check"
import { SubmitRequest } from "../src/Api.js"
import * as Actors from "./support/Actors.js"
import {
  adminKey,
  authenticated,
  contracts,
  type FuzzRequest,
  maxPayloadBytes,
  maxRequestBytes,
  readKey,
  submissions,
  unauthenticated,
} from "./support/FuzzRequests.js"
import * as TestGateway from "./support/TestGateway.js"

const seed = 20_261_123

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

/** `/` is public: it redirects to the dashboard (`/ui/`), which asks for a key itself. */
const isDashboardRedirect = (req: FuzzRequest, answer: FuzzAnswer) =>
  answer.status === 302 && /^\/(\?.*)?$/.test(req.path) && answer.headers.location === "/ui/"

/** The gateway's contract for every answer to a bad request. */
const expectRefusal = (req: FuzzRequest, answer: FuzzAnswer) => {
  if (isDashboardRedirect(req, answer)) return
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
        for (const status of statuses.keys())
          expect([200, 202, 302, 400, 401, 403, 404, 409, 413, 431]).toContain(status)
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
