/**
 * The work both systems are given: the same ~100-byte payload, the same clock, the same no-op
 * handler result. Keeping these in one place is what makes the rows comparable. Plain types, no
 * Effect: a BullMQ worker process loads this module too.
 */
/** A job's input: a sequence number, when it was sent, and filler up to about 100 bytes of JSON. */
export interface Payload {
  readonly n: number
  readonly sentAt: number
  readonly body: string
}

/** What every benchmark handler returns: when it started, in `now()` time. */
export interface Output {
  readonly startedAt: number
}

// 58 characters of filler make the encoded payload ~100 bytes with typical n and sentAt values.
const filler = "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed"

/** The payload of job `n`, stamped with the time it is sent. */
export const payload = (n: number, sentAt = now()): Payload => ({ n, sentAt, body: filler })

/**
 * Wall-clock milliseconds with sub-millisecond resolution. `timeOrigin` is epoch-based, so stamps
 * taken in different processes on this machine (producer, worker) can be subtracted.
 */
export const now = (): number => performance.timeOrigin + performance.now()

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `done` every `everyMs` until it holds, failing after `timeoutMs` with `what` in the message. */
export const waitUntil = async (
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
) => {
  const deadline = now() + timeoutMs
  while (!(await done())) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Splits `count` items into consecutive batches of at most `size`. */
export const batches = (count: number, size: number): Array<{ readonly from: number; readonly to: number }> =>
  Array.from({ length: Math.ceil(count / size) }, (_, i) => ({ from: i * size, to: Math.min(count, (i + 1) * size) }))
