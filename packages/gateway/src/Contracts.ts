/**
 * The actor contracts a gateway serves, from the contract modules it runs with (the gateway
 * validates every input with the contract's Schema before anything is written, so it needs the
 * Schemas themselves, not just their JSON Schema).
 */
import type { Actor } from "@eddy/core"
import { Context, Effect, Layer } from "effect"
import { NotFound } from "./ApiErrors.js"

export class Contracts extends Context.Tag("@eddy/gateway/Contracts")<Contracts, ReadonlyMap<string, Actor.Any>>() {}

export const layer = (contracts: ReadonlyArray<Actor.Any>): Layer.Layer<Contracts> =>
  Layer.succeed(Contracts, new Map(contracts.map((contract) => [contract.name, contract])))

/** The contract of an actor, or 404 listing the known ones. */
export const get = (name: string) =>
  Effect.flatMap(Contracts, (contracts) => {
    const contract = contracts.get(name)
    return contract === undefined
      ? Effect.fail(
          new NotFound({
            code: "unknown_actor",
            message: `no actor named ${JSON.stringify(name)}`,
            details: { known: [...contracts.keys()].sort() },
          }),
        )
      : Effect.succeed(contract)
  })
