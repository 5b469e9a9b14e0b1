/**
 * @eddy/workers — the typed, Effect-based consumer-group runtime.
 */
export * as Handler from "./Handler.js"
export * as Worker from "./Worker.js"
export * as WorkerMetrics from "./WorkerMetrics.js"
