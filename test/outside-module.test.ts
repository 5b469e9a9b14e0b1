/**
 * The README's worked example of a module outside the workspace (`examples/outside`): copied to
 * a temporary directory outside the repository, with `@eddy/core`, `@eddy/workers`, `effect` and
 * `tsx` installed as links (what `npm install <path>` makes), its TypeScript handlers run under
 * `eddy worker ./handlers.ts`, and `eddy submit --contracts ./contracts.ts` validates an input
 * against its contracts and waits for the job's result, and `eddy gateway ./contracts.ts` serves
 * the same contracts over HTTP.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort } from "../packages/core/test/support/FreePort.js"
import * as TestRedis from "../packages/core/test/support/TestRedis.js"

const root = join(import.meta.dirname, "..")
// The `eddy` command as the unbuilt binary runs it (the CLI's sources under tsx), spawned
// directly: `bin/eddy.mjs` switches to `dist/` whenever one exists, even one `tsc -b` left
// without the Lua files beside it. `--import tsx` resolves from the project directory, as
// the binary's does.
const eddy = ["--conditions=@eddy/source", "--import", "tsx", join(root, "packages/cli/src/main.ts")]
const dirs: Array<string> = []
const children: Array<ChildProcess> = []

afterAll(() => {
  // The wrapper runs the CLI as its child: the whole group goes.
  for (const child of children)
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** The example project, installed in a fresh directory outside the repository. */
const project = () => {
  const dir = mkdtempSync(join(tmpdir(), "eddy-outside-"))
  dirs.push(dir)
  for (const file of ["package.json", "contracts.ts", "handlers.ts"])
    copyFileSync(join(root, "examples/outside", file), join(dir, file))
  mkdirSync(join(dir, "node_modules/@eddy"), { recursive: true })
  symlinkSync(join(root, "packages/core"), join(dir, "node_modules/@eddy/core"), "dir")
  symlinkSync(join(root, "packages/workers"), join(dir, "node_modules/@eddy/workers"), "dir")
  symlinkSync(realpathSync(join(root, "packages/core/node_modules/effect")), join(dir, "node_modules/effect"), "dir")
  symlinkSync(realpathSync(join(root, "node_modules/tsx")), join(dir, "node_modules/tsx"), "dir")
  return dir
}

const env = (prefix: string): NodeJS.ProcessEnv => {
  const result: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("EDDY_")) result[key] = value
  return { ...result, EDDY_REDIS_URL: TestRedis.url(), EDDY_PREFIX: prefix, EDDY_LOG_PRETTY: "0" }
}

const spawnEddy = (dir: string, args: ReadonlyArray<string>, prefix: string, extra: NodeJS.ProcessEnv = {}) => {
  const child = spawn(process.execPath, [...eddy, ...args], {
    cwd: dir,
    env: { ...env(prefix), ...extra },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  })
  children.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

describe("a module outside the workspace", () => {
  it("runs under eddy worker, and eddy submit --contracts validates against it and eddy gateway serves its contracts", async () => {
    const dir = project()
    const prefix = TestRedis.uniquePrefix("outside")
    const worker = spawnEddy(dir, ["worker", "./handlers.ts", "--concurrency", "2"], prefix)

    const refused = spawnEddy(dir, ["submit", "shout", '{"text":""}', "--contracts", "./contracts.ts"], prefix)
    refused.child.stdin?.end()
    expect(await refused.exited, refused.stderr()).toBe(1)
    expect(refused.stderr()).toContain("input for shout is invalid")

    const submitted = spawnEddy(
      dir,
      ["submit", "shout", '{"text":"hello"}', "--contracts", "./contracts.ts", "--wait", "--json"],
      prefix,
    )
    submitted.child.stdin?.end()
    const code = await submitted.exited
    expect(code, `${submitted.stderr()}\n--- worker\n${worker.stderr()}`).toBe(0)
    expect(submitted.stdout()).toContain("HELLO!")

    // The same contracts served over HTTP by `eddy gateway`; the worker runs what it takes.
    const port = await freePort()
    const gateway = spawnEddy(dir, ["gateway", "./contracts.ts"], prefix, { EDDY_HTTP_PORT: String(port) })
    const base = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 60_000
    let actors: Array<{ name: string }> | undefined
    while (actors === undefined && Date.now() < deadline && gateway.child.exitCode === null) {
      actors = await fetch(`${base}/v1/actors`)
        .then((r) => r.json() as Promise<Array<{ name: string }>>)
        .catch(() => undefined)
      if (actors === undefined) await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(
      actors?.map((a) => a.name),
      gateway.stderr(),
    ).toEqual(["shout"])
    const accepted = await fetch(`${base}/v1/actors/shout/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { text: "again" } }),
    }).then((r) => r.json() as Promise<{ jobId: string }>)
    const status = await fetch(`${base}/v1/jobs/${accepted.jobId}?waitMs=10000`).then(
      (r) => r.json() as Promise<{ state: string; output?: unknown }>,
    )
    expect(status).toMatchObject({ state: "succeeded", output: { text: "AGAIN!" } })
    expect(worker.child.exitCode, worker.stderr()).toBeNull()
  }, 120_000)
})
