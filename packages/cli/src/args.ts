import { parseArgs } from 'node:util'
import { UsageError } from './errors'

/** The option descriptions commands give `parse` (the `node:util` parseArgs subset we use). */
export type OptionSpec = Readonly<
  Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string; readonly multiple?: boolean }>
>

/** Parsed option values, typed from the spec. */
export type OptionValues<O extends OptionSpec> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string
} & { help?: boolean }

/** `node:util` parseArgs with usage errors that name the command, and `--help` on every command. */
export function parse<const O extends OptionSpec>(
  command: string,
  argv: readonly string[],
  options: O,
): { values: OptionValues<O>; positionals: string[] } {
  try {
    return parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as { values: OptionValues<O>; positionals: string[] }
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.split('\n')[0]}`, { cause: error })
  }
}

/** A positive integer option, or the default. */
export function intOption(command: string, name: string, value: string | undefined, fallback: number, min = 1) {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!(Number.isInteger(n) && n >= min)) throw new UsageError(`${command}: --${name} must be an integer ≥ ${min}`)
  return n
}

/** `a,b` and repeated flags → one list, blanks dropped. */
export function listOption(values: string | readonly string[] | undefined): string[] {
  const all = values === undefined ? [] : typeof values === 'string' ? [values] : values
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
}
