/**
 * Test layers over the run's throwaway Redis (started by the global setup): its redis-server, or
 * in the cluster projects (`cluster-*`) its Redis Cluster.
 */
import { randomUUID } from "node:crypto"
import { type Duration, Either, type Layer, Redacted } from "effect"
import { Cluster, Redis } from "ioredis"
import { inject } from "vitest"
import "./providedContext.js"
import * as EddyConfig from "../../src/EddyConfig.js"
import * as RedisClient from "../../src/RedisClient.js"
import * as Settings from "../../src/Settings.js"

/** The URL of the run's redis-server. */
export const url = (): string => inject("redisUrl")

/** The seed list of the run's cluster (`host:port,…`); empty outside the cluster projects. */
export const clusterSeeds = (): string => inject("redisCluster")

/** Whether this test runs against the run's Redis Cluster. */
export const onCluster = (): boolean => clusterSeeds() !== ""

/** The run's cluster as `RedisClient` takes it. */
export const clusterTarget = (): EddyConfig.ClusterTarget =>
  Either.getOrThrow(EddyConfig.parseCluster(clusterSeeds().split(",")))

/** A key prefix no other test uses. */
export const uniquePrefix = (label = "t"): string => `${label}-${randomUUID().slice(0, 8)}`

/** How to reach the test's Redis, as `RedisClient.make` takes it (`url` or `cluster`). */
export const target = ():
  | { readonly url: Redacted.Redacted<string> }
  | { readonly cluster: EddyConfig.ClusterTarget } =>
  onCluster() ? { cluster: clusterTarget() } : { url: Redacted.make(url()) }

/**
 * How to reach `url` as `RedisClient.make` takes it: the run's cluster in the cluster projects
 * when `url` is the run's server (what a suite means by "the test's Redis"), else `url` itself
 * (a server a test started to stop or kill).
 */
export const targetFor = (
  server: string,
): { readonly url: Redacted.Redacted<string> } | { readonly cluster: EddyConfig.ClusterTarget } =>
  onCluster() && server === url() ? { cluster: clusterTarget() } : { url: Redacted.make(server) }

/** The variables a child process needs to reach `server` (see `targetFor`), with the partition count. */
export const envFor = (server: string): Record<string, string> => ({
  ...(onCluster() && server === url() ? { EDDY_REDIS_CLUSTER: clusterSeeds() } : { EDDY_REDIS_URL: server }),
  ...(partitions() === 1 ? {} : { EDDY_PARTITIONS: String(partitions()) }),
})

/** A RedisClient on the run's server (or cluster). */
export const layer = (options: { readonly timeout?: Duration.DurationInput; readonly name?: string } = {}) =>
  RedisClient.layer({
    ...target(),
    timeout: options.timeout ?? "2 seconds",
    ...(options.name ? { name: options.name } : {}),
  })

/** The variables a child process needs to reach the test's Redis: `EDDY_REDIS_URL` or `EDDY_REDIS_CLUSTER`. */
export const env = (): Record<string, string> => envFor(url())

/**
 * How many partitions the suites' harnesses spread jobs over unless a test chooses: the project's
 * `EDDY_TEST_PARTITIONS` (vitest.config.ts), default 1. With 12 on the cluster every master
 * holds some (p3, p7, p11 on one, p2, p6, p10 on another, the rest on the third).
 */
export const partitions = (): number => Number(process.env.EDDY_TEST_PARTITIONS ?? "1")

/** Settings with `partitions()` partitions unless `options` says. */
export const settings = (options: Parameters<typeof Settings.make>[0]): Layer.Layer<Settings.Settings> =>
  Settings.layer({ partitions: partitions(), ...options })

/**
 * A raw ioredis client for assertions and set-up, on the test's Redis: a `Cluster` in the cluster
 * projects (each command goes to its key's master), else a `Redis`. Quit it when done.
 */
export const raw = (): Redis | Cluster =>
  onCluster()
    ? new Cluster(
        clusterTarget().nodes.map((node) => ({ host: node.host, port: node.port })),
        { enableOfflineQueue: true },
      )
    : new Redis(url())
