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

/** A RedisClient on the run's server (or cluster). */
export const layer = (options: { readonly timeout?: Duration.DurationInput; readonly name?: string } = {}) =>
  RedisClient.layer({
    ...target(),
    timeout: options.timeout ?? "2 seconds",
    ...(options.name ? { name: options.name } : {}),
  })

/** The variables a child process needs to reach the test's Redis: `EDDY_REDIS_URL` or `EDDY_REDIS_CLUSTER`. */
export const env = (): Record<string, string> =>
  onCluster() ? { EDDY_REDIS_CLUSTER: clusterSeeds() } : { EDDY_REDIS_URL: url() }

/**
 * How many partitions a test spreads its jobs over unless it chooses: 12 on the cluster, so that
 * every master holds some (p3, p7, p11 on one, p2, p6, p10 on another, the rest on the third),
 * else 1.
 */
export const partitions = (): number => (onCluster() ? 12 : 1)

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
