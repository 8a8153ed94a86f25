/** Base of every error Conveyor throws on purpose. `code` is stable across releases; match on it, not on text. */
export class ConveyorError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message.startsWith('[conveyor]') ? message : `[conveyor] ${message}`, options)
    this.name = new.target.name
    this.code = code
  }
}
