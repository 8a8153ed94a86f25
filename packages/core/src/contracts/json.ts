/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. Task inputs and results are JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue }
