/**
 * The request body as HttpApi reads it, with the checks that keep a bad body answered in the
 * error shape instead of breaking the request. Nothing is read until the endpoint decodes its
 * payload, i.e. after routing and the API-key check, as before.
 * - over the size limit, with or without a `Content-Length` (chunked): 413. The platform's own
 *   reader destroys the socket when a body runs over, so the client, still sending, sees a
 *   reset instead of the answer; this one discards the rest of the body (as Node does for a
 *   body nobody reads) and the 413 goes out on a connection that stays usable.
 * - JSON nested deeper than `maxJsonDepth`: 400. Deeper JSON parses, but formatting or
 *   re-encoding it later recurses past the stack (a 500, or worse).
 * - multipart bodies: 400. The API takes JSON only, and the multipart parser throws on some
 *   malformed bodies in ways that cannot be caught as a typed failure.
 * HttpApi turns a failed body read into a defect; the gateway's middleware finds these errors in
 * it and answers with them.
 */
import type { IncomingMessage } from "node:http"
import { HttpMethod, HttpServerError, type HttpServerRequest, UrlParams } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Stream } from "effect"
import { BadRequest, PayloadTooLarge } from "../ApiErrors.js"

/** Deepest JSON nesting accepted in a body (an input gets this less the envelope's 1-3 levels). */
export const maxJsonDepth = 128

/** How deeply a JSON text nests, counted without parsing it; stops counting past `limit`. */
export const jsonDepth = (text: string, limit = Number.POSITIVE_INFINITY): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > limit) return deepest
      }
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return deepest
}

/** Reads the whole body, failing with 413 as soon as it runs over `limit` bytes. */
const readAll = (source: IncomingMessage, limit: number) =>
  Effect.async<Buffer, BadRequest | PayloadTooLarge>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let settled = false
    const settle = (effect: Effect.Effect<Buffer, BadRequest | PayloadTooLarge>) => {
      if (settled) return
      settled = true
      detach()
      resume(effect)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      chunks.length = 0
      settle(
        Effect.fail(
          new PayloadTooLarge({ code: "payload_too_large", message: `the request body is over ${limit} bytes` }),
        ),
      )
    }
    const onEnd = () => settle(Effect.succeed(Buffer.concat(chunks)))
    const onBroken = () =>
      settle(Effect.fail(new BadRequest({ code: "invalid_request", message: "the request body could not be read" })))
    const detach = () => {
      // Whatever is left flows on unread and is dropped.
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onBroken)
      source.off("close", onBroken)
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onBroken)
    // "close" before "end": the client went away mid-body.
    source.once("close", onBroken)
    return Effect.sync(detach)
  })

const unsupported = new BadRequest({
  code: "unsupported_content_type",
  message: "multipart bodies are not accepted: send application/json",
})

/**
 * The request, its body served (once read, and checked: see the module comment) through the
 * accessors HttpApi uses. Requests of methods without a body pass through untouched.
 */
export const served = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number,
): HttpServerRequest.HttpServerRequest => {
  if (!HttpMethod.hasBody(request.method)) return request
  const contentType = (request.headers["content-type"] ?? "").toLowerCase()
  const bytes = contentType.includes("multipart/")
    ? Effect.fail(unsupported)
    : Effect.runSync(Effect.cached(readAll(NodeHttpServerRequest.toIncomingMessage(request), maxBytes)))
  const text = Effect.map(bytes, (buffer) => buffer.toString("utf8"))
  const decodeError = (cause: unknown) => new HttpServerError.RequestError({ request, reason: "Decode", cause })
  const json = Effect.flatMap(
    text,
    (body): Effect.Effect<unknown, BadRequest | HttpServerError.RequestError> =>
      jsonDepth(body, maxJsonDepth) > maxJsonDepth
        ? Effect.fail(
            new BadRequest({
              code: "invalid_request",
              message: `the request body nests deeper than ${maxJsonDepth} levels`,
            }),
          )
        : Effect.try({ try: () => (body === "" ? null : JSON.parse(body)), catch: decodeError }),
  )
  const body = Object.create(request) as HttpServerRequest.HttpServerRequest
  Object.defineProperties(body, {
    text: { value: text },
    json: { value: json },
    urlParamsBody: {
      value: Effect.flatMap(text, (body) =>
        Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(body)), catch: decodeError }),
      ),
    },
    arrayBuffer: {
      value: Effect.map(bytes, (buffer) =>
        buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
      ),
    },
    multipart: { value: Effect.fail(unsupported) },
    multipartStream: { value: Stream.fail(unsupported) },
    stream: { value: Stream.fromEffect(bytes) },
  })
  return body
}
