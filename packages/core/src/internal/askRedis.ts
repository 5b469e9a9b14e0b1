/**
 * Asks a Redis server, over a plain socket of its own, why it refuses connections: what it says
 * to a new client, in its own words (`ERR max number of clients reached`, `NOAUTH …`,
 * `WRONGPASS …`, `LOADING …`). ioredis cannot tell us: a server at `maxclients` writes its error
 * and closes at once, and ioredis, which writes on connect, sees only `write EPIPE` or a close.
 *
 * Used only after a connection failed, once per outage, so it never adds connections in a loop.
 * Never fails: `undefined` when the server says nothing amiss or cannot be reached.
 */
import { connect as connectTcp, type Socket } from "node:net"
import { connect as connectTls } from "node:tls"

/** How long the whole exchange may take. */
const limitMs = 500
/** How long to listen before writing: a refusing server speaks first. */
const greetingMs = 50

/** A RESP command. */
const command = (...args: ReadonlyArray<string>) =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`

/** What the server answers to a new client (AUTH as the URL says, then PING): its first error line. */
export const askRedis = (rawUrl: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    let url: URL
    try {
      url = new URL(rawUrl)
    } catch {
      return resolve(undefined)
    }
    const host = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1"
    const port = Number(url.port || 6379)
    const tls = url.protocol === "rediss:"
    const socket: Socket = tls ? connectTls({ host, port, servername: host }) : connectTcp({ host, port })
    let received = ""
    let replies = 0
    const expected = url.password === "" ? 1 : 2
    const finish = (said: string | undefined) => {
      clearTimeout(limit)
      clearTimeout(greeting)
      socket.destroy()
      resolve(said)
    }
    const limit = setTimeout(() => finish(undefined), limitMs)
    let greeting: NodeJS.Timeout | undefined
    socket.on(tls ? "secureConnect" : "connect", () => {
      greeting = setTimeout(() => {
        const password = decodeURIComponent(url.password)
        const auth =
          password === ""
            ? ""
            : url.username === ""
              ? command("AUTH", password)
              : command("AUTH", decodeURIComponent(url.username), password)
        socket.write(`${auth}${command("PING")}`)
      }, greetingMs)
    })
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8")
      let end = received.indexOf("\r\n")
      while (end >= 0) {
        const line = received.slice(0, end)
        received = received.slice(end + 2)
        if (line.startsWith("-")) return finish(line.slice(1))
        replies += 1
        if (replies >= expected) return finish(undefined)
        end = received.indexOf("\r\n")
      }
    })
    socket.on("error", () => finish(undefined))
    socket.on("close", () => finish(undefined))
  })
