/**
 * @eddy/workers — the typed, Effect-based consumer-group runtime.
 */
export {}
