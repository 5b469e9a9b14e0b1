/** Runs a lifecycle script on the process's command connection, within the Redis bound. */
import { Effect } from "effect"
import { RedisClient } from "../RedisClient.js"
import * as Scripts from "../Scripts.js"

export const runScript = <K extends string, A extends string>(script: Scripts.Script<K, A>, call: Scripts.Call<K, A>) =>
  Effect.flatMap(RedisClient, (redis) => redis.run((connection) => Scripts.run(connection, script, call)))
