/**
 * A real local Redis Cluster for tests: N masters and N × `replicasPerMaster` replicas, each a
 * `redis-server --cluster-enabled yes` on a free port in a temp dir of its own (started through
 * `EmbeddedRedis`, so no node outlives the test process, even one killed by SIGKILL), joined with
 * `redis-cli --cluster create`. `start` returns once every node reports `cluster_state:ok` and every
 * replica is in sync with its master; closing the scope stops every node and removes the dirs.
 *
 * A test that kills a master (`kill`) should start a cluster of its own; the shared one of the
 * cluster test projects (see `globalSetup.ts`) must stay whole for the other tests.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { Duration, Effect, Exit, Scope } from "effect"
import * as EmbeddedRedis from "../../packages/core/src/EmbeddedRedis.js"

const run = promisify(execFile)

/** One node as it is now. */
export interface ClusterNode {
  readonly port: number
  /** The redis-server's pid (SIGKILL it to simulate a crash: `kill`). */
  readonly pid: number
  /** The node's id in the cluster (`CLUSTER MYID`). */
  readonly id: string
  readonly role: "master" | "replica"
  /** For a replica, the id of its master. */
  readonly masterId?: string
}

/** A running cluster. */
export interface TestCluster {
  /** The seed list as `EDDY_REDIS_CLUSTER` takes it: `127.0.0.1:port,…`, every node. */
  readonly seeds: string
  /** The same, one `host:port` per entry. */
  readonly seedList: ReadonlyArray<string>
  /** Every node with the role it had once the cluster was ready. */
  readonly nodes: ReadonlyArray<ClusterNode>
  /** The nodes and their roles now, as the live nodes see them (after a failover, the promoted replica is a master). */
  readonly roles: () => Promise<ReadonlyArray<ClusterNode>>
  /** SIGKILLs the node on `port`. */
  readonly kill: (port: number) => void
  /** Waits until every live node reports `cluster_state:ok` and every live replica is in sync. */
  readonly waitHealthy: (timeout?: Duration.DurationInput) => Promise<void>
}

export interface Options {
  /** Default 3. */
  readonly masters?: number
  /** Default 1. */
  readonly replicasPerMaster?: number
  /**
   * `cluster-node-timeout`: how long a master may be unreachable before its replica takes over.
   * Default 5 s, long enough that a loaded 2-core machine does not fail masters over by itself;
   * a failover test may want it shorter.
   */
  readonly nodeTimeout?: Duration.DurationInput
  /** How long to wait for the cluster to be ready. Default 60 s. */
  readonly readyTimeout?: Duration.DurationInput
  /** A password every node requires (`requirepass`, and `masterauth` for its replica). */
  readonly password?: string
}

/** One command on one node through `redis-cli` (its raw output); `password` for a cluster that has one. */
export const askWith =
  (password: string | undefined) =>
  async (port: number, ...args: ReadonlyArray<string>): Promise<string> =>
    (
      await run(
        "redis-cli",
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          ...(password === undefined ? [] : ["-a", password, "--no-auth-warning"]),
          ...args,
        ],
        { timeout: 5_000 },
      )
    ).stdout

/** One command on one node of a cluster without a password. */
export const ask = askWith(undefined)

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim()

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Roles from one node's `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master> …`. */
const parseNodes = (text: string, pids: ReadonlyMap<number, number>): Array<ClusterNode> =>
  text
    .trim()
    .split("\n")
    .flatMap((line) => {
      const [id, address, flags, master] = line.split(" ")
      const port = Number(/:(\d+)@/.exec(address ?? "")?.[1])
      if (id === undefined || flags === undefined || Number.isNaN(port)) return []
      const replica = flags.split(",").includes("slave")
      return [
        {
          port,
          pid: pids.get(port) ?? 0,
          id,
          role: replica ? ("replica" as const) : ("master" as const),
          ...(replica && master !== undefined && master !== "-" ? { masterId: master } : {}),
        },
      ]
    })
    .sort((a, b) => a.port - b.port)

const until = async (what: string, timeout: Duration.DurationInput, check: () => Promise<string | undefined>) => {
  const deadline = Date.now() + Duration.toMillis(Duration.decode(timeout))
  let why: string | undefined = "not checked yet"
  while (Date.now() < deadline) {
    why = await check().catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
    if (why === undefined) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`test cluster: ${what} not reached within ${Duration.format(Duration.decode(timeout))}: ${why}`)
}

/** Starts the cluster; closing the scope stops it. */
export const start = (options: Options = {}): Effect.Effect<TestCluster, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const masters = options.masters ?? 3
    const perMaster = options.replicasPerMaster ?? 1
    const nodeTimeout = Duration.toMillis(Duration.decode(options.nodeTimeout ?? "5 seconds"))
    const readyTimeout = options.readyTimeout ?? "60 seconds"
    const password = options.password
    // Without a password until the cluster is up (EmbeddedRedis's readiness PING takes none).
    let ask = askWith(undefined)
    const servers = yield* Effect.forEach(
      Array.from({ length: masters * (1 + perMaster) }),
      () =>
        EmbeddedRedis.start({
          ephemeral: true,
          stopGrace: "1 second",
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            String(nodeTimeout),
            // A replica's first sync waits 5 s by default for more replicas to share it.
            "--repl-diskless-sync-delay",
            "0",
          ],
        }),
      { concurrency: "unbounded" },
    ).pipe(Effect.mapError((error) => new Error(error.message)))
    const pids = new Map(servers.map((server) => [server.port, server.pid]))
    const seedList = servers.map((server) => `127.0.0.1:${server.port}`)

    const roles = async () => {
      for (const server of servers) {
        if (!alive(server.pid)) continue
        const text = await ask(server.port, "CLUSTER", "NODES").catch(() => undefined)
        if (text !== undefined && !text.startsWith("ERR")) return parseNodes(text, pids)
      }
      throw new Error("test cluster: no node answers")
    }

    const waitHealthy = (timeout: Duration.DurationInput = readyTimeout) =>
      until("cluster_state:ok on every node with replicas in sync", timeout, async () => {
        for (const server of servers) {
          if (!alive(server.pid)) continue
          const info = await ask(server.port, "CLUSTER", "INFO")
          if (field(info, "cluster_state") !== "ok") return `node ${server.port}: ${field(info, "cluster_state")}`
          if (field(info, "cluster_slots_ok") !== "16384") return `node ${server.port}: slots not all ok`
        }
        for (const node of await roles()) {
          if (node.role !== "replica" || !alive(node.pid)) continue
          const replication = await ask(node.port, "INFO", "replication")
          if (field(replication, "master_link_status") !== "up") return `replica ${node.port}: link not up`
          if (field(replication, "master_sync_in_progress") !== "0") return `replica ${node.port}: syncing`
        }
        return undefined
      })

    yield* Effect.tryPromise({
      try: () =>
        run(
          "redis-cli",
          ["--cluster", "create", ...seedList, "--cluster-replicas", String(perMaster), "--cluster-yes"],
          { timeout: Duration.toMillis(Duration.decode(readyTimeout)) },
        ),
      catch: (error) => new Error(`test cluster: redis-cli --cluster create failed: ${String(error)}`),
    })
    // Every node must know every other one and its role before a client asks for the slot map.
    yield* Effect.tryPromise({
      try: () =>
        until("every node knowing the whole cluster", readyTimeout, async () => {
          for (const server of servers) {
            const known = parseNodes(await ask(server.port, "CLUSTER", "NODES"), pids)
            const replicas = known.filter((node) => node.role === "replica" && node.masterId !== undefined)
            if (known.length !== servers.length || replicas.length !== masters * perMaster)
              return `node ${server.port} knows ${known.length} nodes, ${replicas.length} replicas`
          }
          return undefined
        }),
      catch: (error) => error as Error,
    })
    yield* Effect.tryPromise({ try: () => waitHealthy(), catch: (error) => error as Error })
    if (password !== undefined) {
      yield* Effect.tryPromise({
        try: async () => {
          for (const server of servers) {
            await ask(server.port, "CONFIG", "SET", "masterauth", password)
            await ask(server.port, "CONFIG", "SET", "requirepass", password)
          }
        },
        catch: (error) => new Error(`test cluster: setting the password failed: ${String(error)}`),
      })
      ask = askWith(password)
    }
    const nodes = yield* Effect.tryPromise({ try: roles, catch: (error) => error as Error })
    return {
      seeds: seedList.join(","),
      seedList,
      nodes,
      roles,
      kill: (port) => {
        const pid = pids.get(port)
        if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL")
      },
      waitHealthy,
    } satisfies TestCluster
  })

/** `start` for plain async code: the cluster and a `stop` to call when done. */
export const startAsync = async (
  options: Options = {},
): Promise<TestCluster & { readonly stop: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(start(options).pipe(Scope.extend(scope)))
  const stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
  if (Exit.isFailure(exit)) {
    await stop()
    throw Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : new Error(String(exit.cause))
  }
  return { ...exit.value, stop }
}
