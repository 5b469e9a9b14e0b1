/**
 * Test layers over the run's throwaway redis-server (started by the global setup).
 */
import { randomUUID } from "node:crypto"
import { Redacted } from "effect"
import { inject } from "vitest"
import "./providedContext.js"
import * as RedisClient from "../../src/RedisClient.js"

/** The URL of the run's redis-server. */
export const url = (): string => inject("redisUrl")

/** A key prefix no other test uses. */
export const uniquePrefix = (label = "t"): string => `${label}-${randomUUID().slice(0, 8)}`

/** A RedisClient on the run's server. */
export const layer = () => RedisClient.layer({ url: Redacted.make(url()), timeout: "2 seconds" })
