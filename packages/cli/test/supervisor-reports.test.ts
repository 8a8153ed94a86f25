import type { ChildProcess } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { handleChildMessage } from '../src/supervisor/reports'
import type { Slot, SupervisorState } from '../src/supervisor/state'

/** A slot and a state with just what the run reports touch. */
function slotOf(child: ChildProcess): Slot {
  return {
    pool: { name: 'default' },
    index: 0,
    child,
    state: 'ready',
    restarts: 0,
    failures: 0,
    processed: 0,
    recycling: false,
    killedForLimit: false,
    running: new Map(),
  } as unknown as Slot
}

describe('run reports from a child', () => {
  it('ends reported together (riding on a start, or on their own) count once each, as task-end counts', () => {
    const child = {} as ChildProcess
    const slot = slotOf(child)
    const state = {} as SupervisorState
    handleChildMessage(state, slot, child, { type: 'task-start', id: 'a', task: 't', attempt: 1 })
    handleChildMessage(state, slot, child, { type: 'task-start', id: 'b', task: 't', attempt: 1, hardLimitMs: 500 })
    handleChildMessage(state, slot, child, { type: 'task-start', id: 'c', task: 't', attempt: 1, ended: ['a'] })
    expect([...slot.running.keys()]).toEqual(['b', 'c'])
    expect(slot.running.get('b')?.hardLimitMs).toBe(500)
    expect(slot.processed).toBe(1)
    handleChildMessage(state, slot, child, { type: 'task-end', id: 'b', outcome: 'succeeded' })
    handleChildMessage(state, slot, child, { type: 'task-ends', ids: ['c'] })
    expect(slot.running.size).toBe(0)
    expect(slot.processed).toBe(3)
  })
})
