/**
 * Job ids: a producer-chosen id, or a generated, time-ordered one (48-bit millisecond time and
 * 80 random bits in Crockford base32, as ULID), so ids sort by submission time.
 */
import { createHash, randomFillSync } from "node:crypto"
import { Schema } from "effect"

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Random bytes are drawn from the kernel a few kilobytes at a time: one `randomBytes` call per
// id cost more than the rest of a submission's preparation together.
const pool = Buffer.alloc(4096)
let poolOffset = pool.length
const randomChars = (count: number): string => {
  if (poolOffset + count > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  let chars = ""
  // 256 is a multiple of 32, so each character is uniform.
  for (let i = 0; i < count; i++) chars += alphabet[(pool[poolOffset + i] as number) % 32]
  poolOffset += count
  return chars
}

/** A new time-ordered id, 26 characters. */
export const generate = (now: number = Date.now()): string => {
  let time = ""
  let rest = now
  for (let i = 0; i < 10; i++) {
    time = alphabet[rest % 32] + time
    rest = Math.floor(rest / 32)
  }
  return time + randomChars(16)
}

/** What a job id may look like: URL-safe, at most 128 characters. */
export const JobId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._~-]{1,128}$/, {
    message: () => "a job id is 1-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'",
  }),
)

/**
 * The job id an idempotency key maps to: the same actor and key always give the same id, so a
 * repeated submission finds the existing job. Keys of different actors never collide.
 *
 * With a partition key, the pair decides: the id also hashes the partition key, so the same
 * idempotency key under another partition key is another job. The duplicate check is the
 * submit script's look-up in the job's own partition, atomic on one hash tag; a key alone could
 * only be found under another partition key by a second look-up in another partition (another
 * Cluster slot), which two racing submissions would both pass, leaving two jobs with one id.
 */
export const fromIdempotencyKey = (actor: string, key: string, partitionKey?: string): string => {
  const hash = createHash("sha256").update(actor).update("\n")
  // JSON keeps the pair unambiguous whatever characters the two keys hold.
  hash.update(partitionKey === undefined ? key : JSON.stringify([key, partitionKey]))
  return `k-${hash.digest("base64url").slice(0, 32)}`
}
