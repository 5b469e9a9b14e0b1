import { describe, expect, it } from "vitest"
import { isAlive } from "./support/Processes.js"
import * as TestCluster from "./support/TestCluster.js"

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim()

// Killing a master and its replica's promotion: RedisClient.failover.cluster.test.ts.
describe("TestCluster", () => {
  it("starts 3 masters and 3 replicas, every node reports cluster_state:ok, and stops them all", async () => {
    const cluster = await TestCluster.startAsync()
    const pids = cluster.nodes.map((node) => node.pid)
    try {
      expect(cluster.nodes).toHaveLength(6)
      expect(cluster.seedList).toHaveLength(6)
      expect(cluster.seeds.split(",")).toEqual(cluster.seedList)
      const masters = cluster.nodes.filter((node) => node.role === "master")
      const replicas = cluster.nodes.filter((node) => node.role === "replica")
      expect(masters).toHaveLength(3)
      expect(replicas).toHaveLength(3)
      // Each master has exactly one replica.
      expect(new Set(replicas.map((replica) => replica.masterId))).toEqual(new Set(masters.map((master) => master.id)))
      for (const node of cluster.nodes) {
        const info = await TestCluster.ask(node.port, "CLUSTER", "INFO")
        expect(field(info, "cluster_state"), `node ${node.port}`).toBe("ok")
        expect(field(info, "cluster_known_nodes"), `node ${node.port}`).toBe("6")
        expect(field(info, "cluster_slots_assigned"), `node ${node.port}`).toBe("16384")
      }
      for (const replica of replicas) {
        const replication = await TestCluster.ask(replica.port, "INFO", "replication")
        expect(field(replication, "master_link_status"), `replica ${replica.port}`).toBe("up")
      }
      expect(pids.every(isAlive)).toBe(true)
    } finally {
      await cluster.stop()
    }
    expect(pids.filter(isAlive)).toEqual([])
  })
})
