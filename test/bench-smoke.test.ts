/**
 * `pnpm bench --quick` as a real process: every scenario runs for both systems on the bench's
 * own embedded Redis, the table and the JSON report carry sane numbers, and nothing it started
 * (runners, worker processes, redis-server) outlives it. Performance targets are reported by the
 * bench, never asserted here: this only checks that the harness works.
 */
import { execSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const scenarios = ["enqueue", "process", "latency", "connections", "stall", "memory"]
let dir: string | undefined

afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

interface ReportRow {
  readonly scenario: string
  readonly key: string
  readonly eddy: number
  readonly bullmq: number
  readonly ratio: number
}

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@eddy/source", "--import", "tsx", "bench/src/main.ts", ...args],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.on("exit", (code) => resolve({ code, out, err }))
  })

describe("pnpm bench --quick", () => {
  it("runs every scenario for eddy and BullMQ, reports sane numbers, and leaves no process behind", async () => {
    dir = mkdtempSync(join(tmpdir(), "eddy-bench-"))
    const file = join(dir, "report.json")
    const { code, out, err } = await run(["--quick", "--json", file])
    expect(code, err).toBe(0)

    const report = JSON.parse(readFileSync(file, "utf8")) as {
      rows: ReadonlyArray<ReportRow>
      failures: ReadonlyArray<unknown>
    }
    expect(report.failures).toEqual([])
    expect([...new Set(report.rows.map((row) => row.scenario))]).toEqual(scenarios)
    for (const row of report.rows) {
      expect(row.eddy, `${row.scenario} ${row.key} eddy`).toBeGreaterThan(0)
      expect(row.bullmq, `${row.scenario} ${row.key} BullMQ`).toBeGreaterThan(0)
      expect(Number.isFinite(row.eddy) && Number.isFinite(row.bullmq)).toBe(true)
      expect(row.ratio).toBeCloseTo(row.eddy / row.bullmq)
    }

    // The table: a header with both systems and the ratio, and a line per row.
    expect(out).toMatch(/\| scenario +\| measure .*\| +eddy \| +BullMQ \| +eddy\/BullMQ \|/)
    for (const scenario of scenarios) expect(out).toMatch(new RegExp(`^\\| ${scenario} `, "m"))
    expect(out).toContain("redis-server")

    // Its redis-server (found by the port it reported) and its child processes are gone.
    const port = /redis-server \S+ at redis:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1]
    expect(port, err).toBeDefined()
    const leftovers = execSync("ps -eo args", { encoding: "utf8" })
      .split("\n")
      .filter(
        (line) =>
          /bench\/src\/(runner|workerProcess)\.ts/.test(line) ||
          // redis-server retitles itself "redis-server 127.0.0.1:<port>"; its supervisor keeps "--port <port>".
          (line.includes("redis-server") && (line.includes(`127.0.0.1:${port}`) || line.includes(`--port ${port} `))),
      )
    expect(leftovers).toEqual([])
  }, 180_000)

  it("with --repeat, runs each scenario once per round and system and reports every round", async () => {
    dir = mkdtempSync(join(tmpdir(), "eddy-bench-"))
    const file = join(dir, "report.json")
    const { code, out, err } = await run(["--quick", "--only", "connections", "--repeat", "2", "--json", file])
    expect(code, err).toBe(0)
    const report = JSON.parse(readFileSync(file, "utf8")) as {
      repeat: number
      rows: ReadonlyArray<ReportRow & { rounds: { eddy: Array<number>; bullmq: Array<number>; ratio: Array<number> } }>
      details: { connections: { eddy: Array<unknown>; bullmq: Array<unknown> } }
    }
    expect(report.repeat).toBe(2)
    const worker = report.rows.find((row) => row.key === "worker")
    expect(worker?.rounds.eddy).toEqual([2, 2])
    expect(worker?.rounds.ratio).toHaveLength(2)
    expect(report.details.connections.eddy).toHaveLength(2)
    expect(report.details.connections.bullmq).toHaveLength(2)
    // The rounds take turns: eddy first in the first, BullMQ first in the second.
    const order = [...err.matchAll(/connections \(round (\d) of 2\): (eddy|bullmq) …/g)].map((m) => `${m[1]}${m[2]}`)
    expect(order).toEqual(["1eddy", "1bullmq", "2bullmq", "2eddy"])
    expect(out).toMatch(/\| +per round \|/)
  }, 180_000)
})
