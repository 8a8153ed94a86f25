import { readFileSync } from 'node:fs'
import { brokerTestIds, capabilityMatrix } from '@conveyor/conformance'
import { DEFAULT_CAPABILITIES } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

// The plugin guide's capability table is generated from capabilityMatrix(); this keeps the copy in the docs honest.
const guide = readFileSync(new URL('../../docs/writing-a-broker-plugin.md', import.meta.url), 'utf8')

describe('docs/writing-a-broker-plugin.md', () => {
  it('lists every capability flag with exactly the tests it unlocks', () => {
    for (const row of capabilityMatrix(DEFAULT_CAPABILITIES)) {
      const line = guide.split('\n').find((l) => l.startsWith(`| \`${row.capability}\` |`))
      expect(line, row.capability).toBeDefined()
      const listed = [
        ...line!
          .split('|')
          .at(-2)!
          .matchAll(/`([a-z-]+\.[a-z-]+)`/g),
      ].map((m) => m[1])
      expect(listed, row.capability).toEqual([...row.unlocks])
      for (const id of listed) expect(brokerTestIds).toContain(id)
    }
  })
})
