/**
 * `npm start`'s program, run as a real process on its own embedded Redis: it serves, submits
 * the demo workload through its HTTP API, prints a summary showing the retries and the dead
 * letter, and shuts down cleanly (exit 0, no redis-server left) on Ctrl-C.
 */
import { type ChildProcess, execSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
let child: ChildProcess | undefined
let dataDir: string | undefined

afterEach(() => {
  if (child?.exitCode === null) child.kill("SIGKILL")
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

describe("npm start", () => {
  it("runs the demo, summarises retries and the dead letter, and stops cleanly on SIGINT", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "eddy-start-"))
    child = spawn(process.execPath, ["--conditions=@eddy/source", "--import", "tsx", "examples/src/main.ts"], {
      cwd: root,
      env: { ...process.env, EDDY_DATA_DIR: dataDir, EDDY_HTTP_PORT: "0", EDDY_DEMO_JOBS: "12", EDDY_LOG_PRETTY: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let out = ""
    let err = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString()
    })
    const deadline = Date.now() + 90_000
    while (!out.includes("Serving until Ctrl-C.") && Date.now() < deadline && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 100))
    expect(out, err).toContain("Serving until Ctrl-C.")

    const summary = out.slice(out.indexOf("Summary"))
    const count = (label: string) => Number(new RegExp(`${label}\\s+(\\d+)`).exec(summary)?.[1] ?? "-1")
    expect(count("jobs")).toBe(37)
    expect(count("succeeded")).toBe(36)
    expect(count("retried")).toBeGreaterThan(0)
    expect(count("dead-lettered")).toBe(1)
    const base = /gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
    expect(base).toBeDefined()
    // The dashboard: its URL printed, `/` sending the browser there.
    expect(out).toContain(`${base}/ui/`)
    expect((await fetch(`${base}/`, { redirect: "manual" })).headers.get("location")).toBe("/ui/")
    const actors = (await (await fetch(`${base}/v1/actors`)).json()) as Array<{ name: string }>
    expect(actors.map((a) => a.name).sort()).toEqual(["allocate-file", "extract-contacts", "parse-posting"])

    const exited = new Promise<number | null>((resolve) => child?.on("exit", (code) => resolve(code)))
    child.kill("SIGINT")
    expect(await exited).toBe(0)
    // The embedded server went with it (its supervisor saw the pipe close).
    const leftovers = execSync("ps -eo args", { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes("redis-server") && line.includes(dataDir as string))
    expect(leftovers).toEqual([])
  }, 120_000)
})
