/**
 * eddy's settings, read through Effect `Config` from `EDDY_*` variables. Every setting has a
 * default; a bad value fails at start-up with the variable's name, what was expected and the
 * value given (secrets redacted), e.g.
 * `(Invalid data at EDDY_PARTITIONS: "Expected an integer from 1 to 1024, got \"0\"")`.
 */
import { Config, ConfigError, Duration, Either, LogLevel, Option, Redacted } from "effect"

/** Where Redis is. The URL stays `Redacted` because it may carry a password. */
export interface RedisTarget {
  readonly kind: "server"
  readonly url: Redacted.Redacted<string>
  /** The URL with its password masked: safe for logs and errors. */
  readonly display: string
  readonly tls: boolean
}

/** Masks the password of a Redis URL, for logs and error messages. */
export const maskRedisUrl = (raw: string): string => raw.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, "$1***@")

/**
 * A string setting checked by `parse`; a failure names what was expected and the value given,
 * with `show` deciding how the value may be shown.
 */
const checked = <A>(
  name: string,
  expected: string,
  parse: (raw: string) => Option.Option<A>,
  show: (raw: string) => string = (raw) => raw,
): Config.Config<A> =>
  Config.string(name).pipe(
    Config.mapOrFail((raw) =>
      Option.match(parse(raw.trim()), {
        onNone: () =>
          Either.left(ConfigError.InvalidData([], `Expected ${expected}, got ${JSON.stringify(show(raw))}`)),
        onSome: Either.right,
      }),
    ),
  )

const parseRedisUrl = (raw: string): Option.Option<RedisTarget> => {
  try {
    const url = new URL(raw)
    if ((url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") return Option.none()
    if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname)) return Option.none()
    return Option.some({
      kind: "server",
      url: Redacted.make(raw),
      display: maskRedisUrl(raw),
      tls: url.protocol === "rediss:",
    })
  } catch {
    return Option.none()
  }
}

/** `EDDY_REDIS_URL`: `redis://[user:password@]host[:port][/db]` or `rediss://` for TLS. Unset: embedded Redis. */
export const redisTarget: Config.Config<Option.Option<RedisTarget>> = Config.option(
  checked("EDDY_REDIS_URL", "a redis:// or rediss:// URL with a host", parseRedisUrl, maskRedisUrl),
)

/**
 * A Redis Cluster: its seed nodes (any reachable one is enough to learn the others) and the
 * credentials and TLS every node takes (a cluster has one set).
 */
export interface ClusterTarget {
  readonly kind: "cluster"
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly username?: string
  readonly password?: Redacted.Redacted<string>
  readonly tls: boolean
  /** The seed list with any password masked: safe for logs and errors. */
  readonly display: string
}

const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/

/**
 * Reads a seed list: each entry `host:port`, or `redis://[user:password@]host:port` /
 * `rediss://…`. Credentials and TLS are written once, on any entry (the first, typically), and
 * apply to every node; entries that disagree (two passwords, `redis://` beside `rediss://`) are
 * refused. Fails with what is wrong.
 */
export const parseCluster = (entries: ReadonlyArray<string>): Either.Either<ClusterTarget, string> => {
  const nodes: Array<{ host: string; port: number }> = []
  const shown: Array<string> = []
  let credentials: { username?: string; password?: string } | undefined
  let scheme: "redis:" | "rediss:" | undefined
  for (const raw of entries.map((entry) => entry.trim())) {
    if (raw === "") return Either.left("an empty entry")
    let host: string
    let port: string
    if (raw.includes("://")) {
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        return Either.left(`${JSON.stringify(maskRedisUrl(raw))} is not a URL`)
      }
      if (url.protocol !== "redis:" && url.protocol !== "rediss:")
        return Either.left(`${JSON.stringify(maskRedisUrl(raw))} is not redis:// or rediss://`)
      if (url.pathname !== "" && url.pathname !== "/" && url.pathname !== "/0")
        return Either.left(`${JSON.stringify(maskRedisUrl(raw))} names a database: a cluster has only database 0`)
      if (url.hostname === "" || url.port === "")
        return Either.left(`${JSON.stringify(maskRedisUrl(raw))} needs a host and a port`)
      if (scheme !== undefined && scheme !== url.protocol) return Either.left("redis:// and rediss:// entries mixed")
      scheme = url.protocol
      if (url.username !== "" || url.password !== "") {
        const these = {
          ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
          ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
        }
        if (
          credentials !== undefined &&
          (credentials.username !== these.username || credentials.password !== these.password)
        )
          return Either.left("entries with different credentials (a cluster has one set)")
        credentials = these
      }
      host = url.hostname
      port = url.port
    } else {
      const match = hostPort.exec(raw)
      if (match === null) return Either.left(`${JSON.stringify(raw)} is not host:port`)
      host = match[1] as string
      port = match[2] as string
    }
    const number = Number(port)
    if (number < 1 || number > 65_535) return Either.left(`port ${port} is outside 1..65535`)
    nodes.push({ host: host.replace(/^\[(.*)\]$/, "$1"), port: number })
    shown.push(maskRedisUrl(raw))
  }
  if (nodes.length === 0) return Either.left("no seed node")
  return Either.right({
    kind: "cluster",
    nodes,
    ...(credentials?.username === undefined ? {} : { username: credentials.username }),
    ...(credentials?.password === undefined ? {} : { password: Redacted.make(credentials.password) }),
    tls: scheme === "rediss:",
    display: `cluster ${shown.join(",")}`,
  })
}

const clusterExpected =
  "a comma-separated list of seed nodes, each host:port or redis://[user:password@]host:port (rediss:// for TLS)"

/**
 * `EDDY_REDIS_CLUSTER`: the seed nodes of a Redis Cluster, comma-separated (see `parseCluster`).
 * Unset: not a cluster.
 */
export const redisCluster: Config.Config<Option.Option<ClusterTarget>> = Config.option(
  Config.string("EDDY_REDIS_CLUSTER").pipe(
    Config.mapOrFail((raw) =>
      Either.mapLeft(parseCluster(raw.split(",")), (why) =>
        ConfigError.InvalidData([], `Expected ${clusterExpected}, got ${JSON.stringify(maskRedisUrls(raw))}: ${why}`),
      ),
    ),
  ),
)

/** Masks the password of every URL in a comma-separated list. */
const maskRedisUrls = (raw: string): string => raw.split(",").map(maskRedisUrl).join(",")

/**
 * Where Redis is: `EDDY_REDIS_URL` (one server) or `EDDY_REDIS_CLUSTER` (a cluster), never both.
 * Neither: none (a process then starts an embedded Redis, the CLI looks for a running one).
 */
export const redisConnection: Config.Config<Option.Option<RedisTarget | ClusterTarget>> = Config.all([
  redisTarget,
  redisCluster,
]).pipe(
  Config.mapOrFail(([server, cluster]) =>
    Option.isSome(server) && Option.isSome(cluster)
      ? Either.left(
          ConfigError.InvalidData(
            ["EDDY_REDIS_CLUSTER"],
            "EDDY_REDIS_URL and EDDY_REDIS_CLUSTER are both set: set EDDY_REDIS_URL for one server or EDDY_REDIS_CLUSTER for a cluster, not both",
          ),
        )
      : Either.right<Option.Option<RedisTarget | ClusterTarget>>(Option.isSome(server) ? server : cluster),
  ),
)

/** `EDDY_PREFIX`: the key namespace, default `eddy`. No braces: they would break hash tags. */
export const prefix: Config.Config<string> = checked("EDDY_PREFIX", "1-64 characters of [A-Za-z0-9_.-]", (raw) =>
  /^[A-Za-z0-9_.-]{1,64}$/.test(raw) ? Option.some(raw) : Option.none(),
).pipe(Config.withDefault("eddy"))

/** A whole number in a range, with the range in its error message. */
export const integerIn = (name: string, min: number, max: number): Config.Config<number> =>
  checked(name, `an integer from ${min} to ${max}`, (raw) => {
    const value = Number(raw)
    return /^-?\d+$/.test(raw) && value >= min && value <= max ? Option.some(value) : Option.none()
  })

/**
 * A duration such as `2 seconds`, `500 millis` or a plain number of milliseconds. Never negative
 * (`Duration.decodeUnknown` would quietly read "-5 seconds" as zero); with `positive`, not zero.
 */
export const duration = (
  name: string,
  options: { readonly positive?: boolean } = {},
): Config.Config<Duration.Duration> =>
  checked(
    name,
    `a ${options.positive === true ? "positive " : ""}duration such as "2 seconds", "500 millis" or a number of milliseconds`,
    (raw) => {
      if (raw.startsWith("-")) return Option.none()
      const parsed = /^\d+$/.test(raw) ? Option.some(Duration.millis(Number(raw))) : Duration.decodeUnknown(raw)
      return options.positive === true ? Option.filter(parsed, (d) => Duration.greaterThan(d, Duration.zero)) : parsed
    },
  )

/** `EDDY_PARTITIONS`: how many partitions (hash tags) jobs are spread over. Default 1. */
export const partitions: Config.Config<number> = integerIn("EDDY_PARTITIONS", 1, 1024).pipe(Config.withDefault(1))

// By name, not by `LogLevel` label: the labels are WARN and OFF, so "warning" and "none" (the
// documented names) would not match them.
const logLevels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
  off: LogLevel.None,
}

/** `EDDY_LOG_LEVEL`: trace, debug, info, warning, error, fatal or none (any case). Default info. */
export const logLevel: Config.Config<LogLevel.LogLevel> = checked(
  "EDDY_LOG_LEVEL",
  "one of trace, debug, info, warning, error, fatal, none",
  (raw) => {
    const name = raw.toLowerCase()
    return Object.hasOwn(logLevels, name) ? Option.fromNullable(logLevels[name]) : Option.none()
  },
).pipe(Config.withDefault(LogLevel.Info))

/** `EDDY_LOG_PRETTY`: human-readable logs. Default: when stderr is a terminal. */
export const logPretty: Config.Config<boolean> = Config.boolean("EDDY_LOG_PRETTY").pipe(
  Config.withDefault(process.stderr.isTTY === true),
)

/** `EDDY_REDIS_TIMEOUT`: the bound within which a Redis call answers or fails. Default 2 s. */
export const redisTimeout: Config.Config<Duration.Duration> = duration("EDDY_REDIS_TIMEOUT", { positive: true }).pipe(
  Config.withDefault(Duration.seconds(2)),
)

/** `EDDY_DATA_DIR`: where the embedded Redis keeps its data. Default `.eddy/redis`. */
export const dataDir: Config.Config<string> = Config.string("EDDY_DATA_DIR").pipe(Config.withDefault(".eddy/redis"))

/** `EDDY_REDIS_APPENDFSYNC`: the embedded server's AOF fsync policy. Default `everysec`. */
export const appendfsync: Config.Config<"everysec" | "always"> = Config.literal(
  "everysec",
  "always",
)("EDDY_REDIS_APPENDFSYNC").pipe(Config.withDefault("everysec" as const))
