/** Starting and stopping a `workerProcess.ts` from a runner. */
import * as Children from "./children.js"
import type { Config } from "./workerProcess.js"

export interface WorkerChild extends Children.Child {
  /** Graceful stop; SIGKILL if it has not exited within 10 s. */
  readonly stop: () => Promise<void>
}

/** Starts a worker process and waits until it consumes. */
export const start = async (config: Config): Promise<WorkerChild> => {
  const child = Children.start("workerProcess.ts", [JSON.stringify(config)])
  await child.next((message) => message.type === "ready", 60_000)
  return {
    ...child,
    stop: () => Children.stop(child),
  }
}
