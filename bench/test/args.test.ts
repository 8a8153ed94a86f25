import { describe, expect, it } from 'vitest'
import { parseBenchArgs } from '../src/cli/args'

const LATEST = '/repo/bench/results/latest.json'

describe('npm run bench: where results go', () => {
  it('a full run replaces the committed latest.json', () => {
    expect(parseBenchArgs([], LATEST).out).toBe(LATEST)
    expect(parseBenchArgs(['--write-docs'], LATEST).out).toBe(LATEST)
  })

  it('a partial run writes partial.json beside it, so iterating does not replace the committed full run', () => {
    for (const argv of [
      ['--quick'],
      ['--only', 'redis'],
      ['--scenario', 'process'],
      ['--runs', '5'],
      ['--jobs', '9'],
    ]) {
      expect(parseBenchArgs(argv, LATEST).out, argv.join(' ')).toBe('/repo/bench/results/partial.json')
    }
  })

  it('--out wins either way', () => {
    expect(parseBenchArgs(['--only', 'redis', '--out', '/tmp/x.json'], LATEST).out).toBe('/tmp/x.json')
  })
})
