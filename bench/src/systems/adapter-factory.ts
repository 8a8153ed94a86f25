import type { Broker } from '@conveyor/core'
import { UnavailableError } from './system'

/**
 * The adapters are written in parallel with the bench: look the factory up at run time, so the bench runs (and
 * reports the adapter as n/a) while a package does not export it yet.
 */
export async function brokerFactory<Options>(
  pkg: '@conveyor/redis' | '@conveyor/rabbitmq',
  name: string,
): Promise<(options: Options) => Broker> {
  let mod: Record<string, unknown>
  try {
    mod = (await import(pkg)) as Record<string, unknown>
  } catch (error) {
    throw new UnavailableError(`${pkg} does not load: ${(error as Error).message}`)
  }
  const factory = mod[name]
  if (typeof factory !== 'function') throw new UnavailableError(`${pkg} does not export ${name} yet`)
  return factory as (options: Options) => Broker
}
