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

/**
 * An integer option of at least `min` (and at most `max`), or the default when the flag is absent. Only decimal
 * digits: `Number()` reads '' and ' ' as 0 and takes '0x10' and '1e3', so an unset shell variable
 * (`--drain-timeout "$UNSET"`) became 0 instead of an error.
 */
export function intOption(
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
) {
  if (value === undefined) return fallback
  const text = value.trim()
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
    throw new UsageError(`${command}: --${name} must be an integer ${range}, got ${JSON.stringify(value)}`)
  }
  return n
}

/**
 * `a,b` and repeated flags → one list, blanks dropped. A value that names no item (`-Q ""`, `-Q ,`) is a
 * UsageError: an empty list means "no filter" (every queue) to the commands, which an unset shell variable must not
 * turn on.
 */
export function listOption(command: string, name: string, values: string | readonly string[] | undefined): string[] {
  const all = values === undefined ? [] : typeof values === 'string' ? [values] : values
  return all.flatMap((value) => {
    const items = splitList(value)
    if (items.length === 0) throw new UsageError(`${command}: --${name} ${JSON.stringify(value)} names nothing`)
    return items
  })
}

/** `a, b,,c` → ['a', 'b', 'c']. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
}
