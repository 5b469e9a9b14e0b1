#!/usr/bin/env node
// The two-command setup: `npm start` and `npm test` both come through here. Only Node built-ins are
// used, because on a fresh clone nothing else is installed yet. Steps: check Node, install the
// workspace with a pinned pnpm (through npx: corepack's signature check fails against the registry
// on some machines), make sure redis-server >= 7.0 exists, then run the command.
import { spawn, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { constants as osConstants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const pnpmVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1]
const MIN_REDIS = [7, 0]

const fail = (message) => {
  process.stderr.write(`eddy: ${message}\n`)
  process.exit(1)
}

const run = (cmd, args, options = {}) => {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options })
  if (result.error) fail(`could not run ${cmd}: ${result.error.message}`)
  return result.status ?? 1
}

const checkNode = () => {
  const major = Number(process.versions.node.split(".")[0])
  if (major < 20) fail(`Node >= 20 is required, this is ${process.versions.node}`)
}

const pnpm = (args, options) => run("npx", ["--yes", `pnpm@${pnpmVersion}`, ...args], options)

// Install when node_modules is missing or older than the lockfile or a manifest.
const ensureWorkspace = () => {
  const marker = join(root, "node_modules", ".modules.yaml")
  const manifests = ["pnpm-lock.yaml", "package.json", "pnpm-workspace.yaml"]
    .concat(
      ["core", "workers", "gateway", "cli", "dashboard"].map((p) => `packages/${p}/package.json`),
      ["test/package.json"],
    )
    .map((f) => join(root, f))
    .filter(existsSync)
  const installedAt = existsSync(marker) ? statSync(marker).mtimeMs : 0
  if (manifests.every((f) => statSync(f).mtimeMs <= installedAt)) return
  const frozen = process.env.CI ? ["--frozen-lockfile"] : []
  if (pnpm(["install", ...frozen]) !== 0) fail("installing the workspace with pnpm failed (see above)")
}

const redisVersion = () => {
  const result = spawnSync("redis-server", ["--version"], { encoding: "utf8" })
  if (result.error || result.status !== 0) return undefined
  const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(result.stdout)
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined
}

const newEnough = (v) => v[0] > MIN_REDIS[0] || (v[0] === MIN_REDIS[0] && v[1] >= MIN_REDIS[1])

const ensureRedis = () => {
  const found = redisVersion()
  if (found && newEnough(found)) return
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"]).status === 0
  if (!isRoot || !hasApt) {
    fail(
      found
        ? `redis-server ${found.join(".")} is too old; install redis-server >= 7.0 (e.g. 'sudo apt-get install redis-server') and rerun`
        : "redis-server >= 7.0 is required; install it (e.g. 'sudo apt-get install redis-server') and rerun",
    )
  }
  process.stderr.write("eddy: installing redis-server with apt-get\n")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  if (run("apt-get", ["update"], { env }) !== 0 || run("apt-get", ["install", "-y", "redis-server"], { env }) !== 0)
    fail("apt-get could not install redis-server")
  const installed = redisVersion()
  if (!installed || !newEnough(installed)) fail("the installed redis-server is older than 7.0")
}

// The dashboard the gateway serves under /ui is a Vite bundle: build it when it is missing or
// older than any of its sources, so `npm start` (and the browser tests) serve the current one.
const ensureDashboard = () => {
  const dir = join(root, "packages", "dashboard")
  const newest = (path) =>
    statSync(path).isDirectory()
      ? readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), 0)
      : statSync(path).mtimeMs
  const sources = ["src", "index.html", "vite.config.ts", "package.json"].map((f) => join(dir, f)).filter(existsSync)
  const bundle = join(dir, "dist", "index.html")
  if (existsSync(bundle) && sources.every((f) => newest(f) <= statSync(bundle).mtimeMs)) return
  process.stderr.write("eddy: building the dashboard\n")
  const vite = join(dir, "node_modules", "vite", "bin", "vite.js")
  if (run(process.execPath, [vite, "build"], { cwd: dir }) !== 0) fail("building the dashboard failed (see above)")
}

// The dashboard's browser tests drive Debian's chromium; install it the way redis-server is.
const ensureChromium = () => {
  if (spawnSync("sh", ["-c", "command -v chromium"]).status === 0) return
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"]).status === 0
  if (!isRoot || !hasApt)
    fail("the dashboard's browser tests need chromium; install it (e.g. 'sudo apt-get install chromium') and rerun")
  process.stderr.write("eddy: installing chromium with apt-get\n")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  if (run("apt-get", ["update"], { env }) !== 0 || run("apt-get", ["install", "-y", "chromium"], { env }) !== 0)
    fail("apt-get could not install chromium")
}

// Runs the final command as a direct child and makes this process stand for it: whoever stops us
// stops it. Docker, Kubernetes and systemd signal only the main process (npm, which passes SIGINT
// and SIGTERM on to us, or this script), so every stop signal we get is passed on, and we exit
// with the child's code once it has drained. SIGHUP (a closed session) becomes SIGTERM: a
// graceful stop, where Node's default for SIGHUP would kill the child at once. The child takes
// copies of one signal that arrive together (a terminal's Ctrl-C reaches it, npm and us) as one
// request (core's StopSignals), so passing every copy on cannot skip its grace; a second signal
// a second or more later still means "stop now".
const handOver = (args) => {
  const child = spawn(process.execPath, args, { stdio: "inherit", cwd: root })
  const pass = (signal) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  process.on("SIGINT", pass("SIGINT"))
  process.on("SIGTERM", pass("SIGTERM"))
  process.on("SIGHUP", pass("SIGTERM"))
  watchParent(pass("SIGTERM"))
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 0)))
}

// npm passes on SIGINT and SIGTERM but not SIGHUP, and nobody passes on a SIGKILL: npm then dies
// and leaves us to init. Losing our parent is a stop request too.
const watchParent = (onLost) => {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onLost()
  }, 500)
  timer.unref()
}

const commands = {
  // The whole system on an embedded Redis (unless EDDY_REDIS_URL points elsewhere).
  start: () => handOver(["--conditions=@eddy/source", "--import", "tsx", "examples/src/main.ts"]),
  // eddy against BullMQ on one embedded redis-server (see docs/benchmarks.md); extra arguments pass on.
  bench: () =>
    handOver(["--conditions=@eddy/source", "--import", "tsx", "bench/src/main.ts", ...process.argv.slice(3)]),
  // Every test of every package and of test/, with coverage, against a throwaway redis-server.
  test: () => handOver(["node_modules/vitest/vitest.mjs", "run", "--coverage", ...process.argv.slice(3)]),
  // Type-check, lint and circular-import check: what CI runs besides the tests.
  check: () => {
    for (const script of ["typecheck", "lint", "circular"]) {
      const status = pnpm(["run", script])
      if (status !== 0) process.exit(status)
    }
  },
}

const command = commands[process.argv[2]]
if (!command) fail(`usage: bootstrap.mjs ${Object.keys(commands).join("|")}`)
checkNode()
ensureWorkspace()
ensureRedis()
if (process.argv[2] === "start" || process.argv[2] === "test") ensureDashboard()
if (process.argv[2] === "test") ensureChromium()
command()
