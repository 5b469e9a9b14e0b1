/**
 * `eddy monitor` in a real terminal: tmux runs it in a detached 160x40 session, and the screen
 * (`tmux capture-pane`) shows the actors, with the depth going up as jobs are submitted and no
 * worker runs, then down to zero (and a worker counted) once a worker starts.
 *
 * tmux is installed with apt-get when missing (as the bootstrap does for redis-server); without
 * root or apt-get the test fails saying so.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { AllocateFile, ExtractContacts } from "@eddy/examples/contracts"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { environment, eventually, fixture, killAll, redisEnv, root, startWorker } from "./support/Eddy.js"
import * as Store from "./support/Store.js"

const hasTmux = () => spawnSync("sh", ["-c", "command -v tmux"]).status === 0

const ensureTmux = () => {
  if (hasTmux()) return
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"]).status === 0
  if (!isRoot || !hasApt)
    throw new Error("tmux is required for the monitor test: install it (e.g. 'sudo apt-get install -y tmux')")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  let installed = spawnSync("apt-get", ["install", "-y", "tmux"], { env, stdio: "ignore" })
  if (installed.status !== 0) {
    spawnSync("apt-get", ["update"], { env, stdio: "ignore" })
    installed = spawnSync("apt-get", ["install", "-y", "tmux"], { env, stdio: "ignore" })
  }
  if (installed.status !== 0 || !hasTmux()) throw new Error("apt-get could not install tmux")
}

const socket = `eddy-cli-test-${process.pid}`
const tmux = (...args: Array<string>) =>
  execFileSync("tmux", ["-u", "-L", socket, ...args], { encoding: "utf8", env: environment({}) })

afterEach(async () => {
  spawnSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" })
  await killAll()
})
afterAll(() => {
  spawnSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" })
})

interface Row {
  readonly actor: string
  readonly depthBar: string
  readonly depth: number
  readonly active: number
  readonly workers: number
  readonly dead: number
}

/** The actors' rows on the screen. */
const rows = (screen: string): Map<string, Row> =>
  new Map(
    screen.split("\n").flatMap((line) => {
      const m = /^([a-z0-9-]+) +(\S{24}) +(\d+) +\S{24} +[\d.]+ +(\d+) +(\d+) +(\d+)\s*$/.exec(line)
      if (m === null) return []
      const [, actor = "", depthBar = "", depth, active, workers, dead] = m
      return [
        [
          actor,
          {
            actor,
            depthBar,
            depth: Number(depth),
            active: Number(active),
            workers: Number(workers),
            dead: Number(dead),
          },
        ] as const,
      ]
    }),
  )

describe("eddy monitor", () => {
  it("draws every actor in a terminal, and its numbers follow the jobs", async () => {
    ensureTmux()
    const prefix = TestRedis.uniquePrefix("cli-mon")
    const env = redisEnv(prefix)
    const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`
    const command =
      `cd ${quote(root)} && env ${Object.entries(env)
        .map(([name, value]) => `${name}=${quote(value ?? "")}`)
        .join(" ")} ` + "node --conditions=@eddy/source --import tsx packages/cli/src/main.ts monitor --interval 300"
    // If the monitor dies, its last words stay on the screen.
    tmux(
      "new-session",
      "-d",
      "-s",
      "monitor",
      "-x",
      "160",
      "-y",
      "40",
      `${command}; echo "monitor exited with $?"; sleep 60`,
    )
    const screen = () => tmux("capture-pane", "-p", "-t", "monitor")
    const waitForScreen = (what: string, test: (text: string) => boolean) =>
      eventually(
        `the monitor to show ${what}`,
        () => {
          const text = screen()
          if (text.includes("monitor exited")) throw new Error(`the monitor exited:\n${text}`)
          return test(text) ? text : undefined
        },
        45_000,
        150,
      )

    const empty = await waitForScreen("its header", (text) => text.includes("no actors yet"))
    expect(empty).toMatch(/^eddy monitor — \d{4}-\d\d-\d\d \d\d:\d\d:\d\d — Ctrl-C quits$/m)
    expect(empty).toMatch(/^actor +depth +rate\/min +active +workers +dead$/m)

    // Jobs and no worker: the depth goes up.
    await Store.submit(prefix, ExtractContacts, [
      { documentId: "m1", text: "a@example.org" },
      { documentId: "m2", text: "b@example.org" },
    ])
    await Store.submit(prefix, AllocateFile, [{ name: "m.txt", sizeBytes: 1, kind: "document" }])
    const queued = await waitForScreen("the queued jobs", (text) => {
      const r = rows(text)
      return r.get("extract-contacts")?.depth === 2 && r.get("allocate-file")?.depth === 1
    })
    const before = rows(queued)
    expect([...before.keys()]).toEqual(["allocate-file", "extract-contacts"])
    expect(before.get("extract-contacts")).toMatchObject({ depthBar: "█".repeat(24), workers: 0 })
    expect(before.get("allocate-file")).toMatchObject({ depthBar: `${"█".repeat(12)}${"·".repeat(12)}`, workers: 0 })
    // Redrawn in place: one screen, not a scroll of them.
    expect(queued.match(/eddy monitor —/g)).toHaveLength(1)

    // A worker comes: the depth goes down to zero and the worker is counted.
    const { worker } = await startWorker(fixture("examples-worker.ts"), prefix)
    const drained = await waitForScreen("the jobs drained by a worker", (text) => {
      const r = rows(text)
      return ["extract-contacts", "allocate-file"].every((a) => r.get(a)?.depth === 0 && r.get(a)?.workers === 1)
    })
    expect(rows(drained).get("extract-contacts")?.depthBar).toBe("·".repeat(24))
    const stopped = await worker.stop("SIGTERM")
    expect(stopped.code, stopped.stderr).toBe(0)
    // The clock moves: the screen is refreshed.
    const clock = (text: string) => /^eddy monitor — (.*) — /m.exec(text)?.[1]
    const shown = clock(drained)
    await waitForScreen("a later time", (text) => clock(text) !== undefined && clock(text) !== shown)
    // Ctrl-C quits, with exit code 0.
    tmux("send-keys", "-t", "monitor", "C-c")
    const quit = await eventually("the monitor to quit on Ctrl-C", () => {
      const text = screen()
      return /monitor exited with \d+/.test(text) ? text : undefined
    })
    expect(quit).toContain("monitor exited with 0")
  }, 120_000)
})
