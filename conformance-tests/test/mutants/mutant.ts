import type { BrokerTestId } from '@conveyor/conformance'
import type { Broker } from '@conveyor/core'
import { createMemoryBroker, type MemoryStore } from '@conveyor/core/adapter'
import { type Mutation, mutate } from './wrap'

/** A deliberately broken memory broker and the suite tests that must catch it. */
export interface Mutant {
  readonly name: string
  /** The bug, as a reviewer would describe it. */
  readonly bug: string
  /** Tests that must fail against this mutant (each one alone is enough to reject the adapter). */
  readonly mustFail: readonly BrokerTestId[]
  /** A new mutated instance on `store` (shared per namespace, like the real test). */
  create(store: MemoryStore): Broker
}

export const LEASE_MS = 400

/** A mutant whose state lives per broker instance (`mutation` is made afresh for each instance). */
export function defineMutant(spec: Omit<Mutant, 'create'> & { mutation: () => Mutation }): Mutant {
  return {
    name: spec.name,
    bug: spec.bug,
    mustFail: spec.mustFail,
    create: (store) => mutate(createMemoryBroker({ store, leaseMs: LEASE_MS }), spec.mutation()),
  }
}
