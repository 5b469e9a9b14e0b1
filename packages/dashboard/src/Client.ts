/**
 * The gateway's API as the page uses it: same origin, the key from this tab's sessionStorage,
 * every error answer turned into an `ApiError` carrying the gateway's message, and Server-Sent
 * Events read through `fetch` (EventSource cannot send the key) with reconnection.
 */
import { createParser } from "eventsource-parser"

const keyName = "eddy.apiKey"

/** An answer that was not a success, or no answer at all (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

type Listener = () => void
const unauthorizedListeners = new Set<Listener>()

/** Called whenever the gateway answers 401 (no key, or an unknown one). */
export const onUnauthorized = (listener: Listener): (() => void) => {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/** The key kept for this tab only. */
export const apiKey = (): string | undefined => sessionStorage.getItem(keyName) ?? undefined

export const setApiKey = (key: string | undefined): void => {
  if (key === undefined || key === "") sessionStorage.removeItem(keyName)
  else sessionStorage.setItem(keyName, key)
}

const headers = (extra: Record<string, string> = {}): Record<string, string> => {
  const key = apiKey()
  return key === undefined ? extra : { ...extra, authorization: `Bearer ${key}` }
}

const unreachable = () => new ApiError(0, "unreachable", "The gateway is unreachable; retrying.")

const errorOf = async (response: Response): Promise<ApiError> => {
  const text = await response.text().catch(() => "")
  let parsed: { error?: { code?: string; message?: string } } | undefined
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (response.status === 401) for (const listener of unauthorizedListeners) listener()
  return new ApiError(
    response.status,
    parsed?.error?.code ?? `http_${response.status}`,
    parsed?.error?.message ?? (text.trim() || `HTTP ${response.status}`),
  )
}

/** One JSON call; rejects with an `ApiError`. */
export const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch {
    throw unreachable()
  }
  if (!response.ok) throw await errorOf(response)
  return (await response.json()) as A
}

export const get = <A>(path: string): Promise<A> => call<A>("GET", path)

/** What a live stream reports about itself. */
export type StreamState = { readonly kind: "open" } | { readonly kind: "down"; readonly error: ApiError }

/**
 * Follows an SSE endpoint: `onEvent` per message; reconnects by itself (1 s, growing to 5 s)
 * after the gateway goes away or the stream ends, unless `reconnect` says the end was final.
 * Returns the function that stops it.
 */
export const follow = (
  path: string,
  onEvent: (type: string, data: string) => void,
  onState: (state: StreamState) => void,
  options: { readonly reconnect?: () => boolean } = {},
): (() => void) => {
  const controller = new AbortController()
  let delay = 1_000
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(path, {
          headers: headers({ accept: "text/event-stream" }),
          signal: controller.signal,
        }).catch(() => {
          throw unreachable()
        })
        if (!response.ok) {
          const error = await errorOf(response)
          onState({ kind: "down", error })
          // A refused key will not get better by asking again.
          if (response.status === 401 || response.status === 403 || response.status === 404) return
        } else if (response.body !== null) {
          onState({ kind: "open" })
          delay = 1_000
          const parser = createParser({ onEvent: (message) => onEvent(message.event ?? "message", message.data) })
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
          while (true) {
            const { value, done } = await reader.read()
            if (done) break
            parser.feed(value)
          }
          if (options.reconnect !== undefined && !options.reconnect()) return
          onState({ kind: "down", error: unreachable() })
        }
      } catch (error) {
        if (controller.signal.aborted) return
        onState({ kind: "down", error: error instanceof ApiError ? error : unreachable() })
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 5_000)
    }
  }
  void run()
  return () => controller.abort()
}
