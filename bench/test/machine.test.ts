/**
 * The bench notes other redis-servers on the machine: each takes a share of the cores the
 * figures are measured on. A real redis-server process is started and must be found, and the
 * bench's own (the `except` pid) must not.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import * as Machine from "../src/machine.js"

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

let child: ChildProcess | undefined
afterEach(() => {
  child?.kill("SIGKILL")
  child = undefined
})

describe("Machine.otherRedisServers", () => {
  it("finds a running redis-server, but not the one it is told to leave out", async () => {
    child = spawn("redis-server", ["--port", String(await freePort()), "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    })
    const pid = child.pid as number
    // The process is named redis-server once it has exec'd.
    let found: ReadonlyArray<number> = []
    for (let i = 0; i < 50 && !found.includes(pid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      found = Machine.otherRedisServers(-1)
    }
    expect(found).toContain(pid)
    expect(Machine.otherRedisServers(pid)).not.toContain(pid)
  })

  it("finds nothing of this process, which is not a redis-server", () => {
    expect(Machine.otherRedisServers(-1)).not.toContain(process.pid)
  })
})
