/**
 * One batch of claimed jobs per turn of the event loop: the first runs at once, each further one
 * in a later turn of its own, in order. Pure scheduling: nothing here lives in Redis.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Turns from "../src/internal/Turns.js"

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("Turns", () => {
  it("runs the first batch at once and each further one in a later turn of its own, in order", async () => {
    const turns = Turns.make()
    const ran: Array<string> = []
    // What a batch's completion writes leaves at the end of the turn: process.nextTick marks it.
    const batch = (name: string) => () => {
      ran.push(name)
      process.nextTick(() => ran.push(`${name} written`))
    }
    Turns.run(turns, batch("a"))
    Turns.run(turns, batch("b"))
    Turns.run(turns, batch("c"))
    expect(ran).toEqual(["a"])
    await nextTurn()
    await nextTurn()
    await nextTurn()
    expect(ran).toEqual(["a", "a written", "b", "b written", "c", "c written"])
    // Once the turns are used up, the next batch runs at once again.
    await nextTurn()
    Turns.run(turns, batch("d"))
    expect(ran.at(-1)).toBe("d")
  })
})
