/** Runs a lifecycle script on the process's command connection, within the Redis bound. */
import { Effect } from "effect"
import { RedisClient } from "../RedisClient.js"
import * as Scripts from "../Scripts.js"

export const runScript = (script: Scripts.Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
  Effect.flatMap(RedisClient, (redis) => redis.run((connection) => Scripts.run(connection, script, keys, args)))
