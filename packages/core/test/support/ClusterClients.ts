/**
 * What every node of the run's cluster says of its clients (`CLIENT LIST`), for tests of the
 * connection budget: each node's address, role and the names (and current commands) of the
 * connections on it. eddy names its connections `<process name>:<channel>` (`…:cmd`, `…:block`).
 */
import { Redis } from "ioredis"
import * as TestRedis from "./TestRedis.js"

export interface NodeClients {
  readonly node: string
  readonly port: number
  readonly master: boolean
  /** Connection names, unnamed ones left out. */
  readonly names: ReadonlyArray<string>
  /** Each connection's name and the command it runs now (a blocked read shows `xreadgroup`). */
  readonly commands: ReadonlyArray<{ readonly name: string; readonly cmd: string }>
}

const field = (line: string, name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? ""

/** Every node's clients, asked over a connection of the test's own (not listed: it has no name). */
export const perNode = (): Promise<ReadonlyArray<NodeClients>> =>
  Promise.all(
    TestRedis.clusterTarget().nodes.map(async ({ host, port }): Promise<NodeClients> => {
      const node = new Redis({ host, port, lazyConnect: true })
      try {
        await node.connect()
        const [role] = (await node.role()) as [string]
        const lines = ((await node.client("LIST")) as string).split("\n").filter((line) => line !== "")
        const commands = lines.map((line) => ({ name: field(line, "name"), cmd: field(line, "cmd") }))
        return {
          node: `${host}:${port}`,
          port,
          master: role === "master",
          names: commands.map((c) => c.name).filter((name) => name !== ""),
          commands,
        }
      } finally {
        node.disconnect()
      }
    }),
  )
