import { ResultTimeoutError, type TaskRecord } from '@conveyor/core'
import { type RecordWaiter, waitForRecord } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

const record = (id: string): TaskRecord => ({
  id,
  task: 't',
  queue: 'q',
  state: 'succeeded',
  attempt: 1,
  updatedAt: Date.now(),
})

/** A registry as a backend keeps one: the waiters it would wake, and how many times each was unregistered. */
function registry() {
  const waiters = new Set<RecordWaiter>()
  let unlistened = 0
  const listen = (waiter: RecordWaiter) => {
    waiters.add(waiter)
    return () => {
      unlistened++
      waiters.delete(waiter)
    }
  }
  return { waiters, listen, unlistened: () => unlistened }
}

describe('waitForRecord', () => {
  it('resolves with what the backend delivers, and unregisters the waiter once', async () => {
    const r = registry()
    const waiting = waitForRecord('a', { timeoutMs: 5_000 }, r.listen)
    expect(r.waiters.size).toBe(1)
    for (const waiter of [...r.waiters]) waiter.resolve(record('a'))
    await expect(waiting).resolves.toMatchObject({ id: 'a', state: 'succeeded' })
    expect(r.waiters.size).toBe(0)
    expect(r.unlistened()).toBe(1)
  })

  it('rejects with ResultTimeoutError after timeoutMs, not before, and unregisters', async () => {
    const r = registry()
    const started = Date.now()
    const error = await waitForRecord('late', { timeoutMs: 60 }, r.listen).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResultTimeoutError)
    expect((error as ResultTimeoutError).id).toBe('late')
    expect(Date.now() - started).toBeGreaterThanOrEqual(55)
    expect(r.unlistened()).toBe(1)
  })

  it('rejects with the signal reason when it aborts, and unregisters', async () => {
    const r = registry()
    const controller = new AbortController()
    const waiting = waitForRecord('a', { timeoutMs: 5_000, signal: controller.signal }, r.listen)
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    expect(r.unlistened()).toBe(1)
  })

  it('rejects at once on a signal that already aborted, without registering', async () => {
    const r = registry()
    const controller = new AbortController()
    controller.abort(new Error('gone'))
    await expect(waitForRecord('a', { timeoutMs: 5_000, signal: controller.signal }, r.listen)).rejects.toThrow('gone')
    expect(r.unlistened()).toBe(0)
    expect(r.waiters.size).toBe(0)
  })

  it('unregisters once when the backend ends the wait inside listen (a record already terminal)', async () => {
    let unlistened = 0
    const waiting = waitForRecord('a', { timeoutMs: 5_000 }, (waiter) => {
      waiter.resolve(record('a'))
      return () => unlistened++
    })
    await expect(waiting).resolves.toMatchObject({ id: 'a' })
    expect(unlistened).toBe(1)
  })

  it('takes the first outcome: a later resolve, reject, timeout or abort changes nothing', async () => {
    const r = registry()
    const controller = new AbortController()
    const waiting = waitForRecord('a', { timeoutMs: 30, signal: controller.signal }, r.listen)
    const [waiter] = [...r.waiters]
    waiter!.reject(new Error('first'))
    waiter!.resolve(record('a'))
    controller.abort(new Error('later'))
    await expect(waiting).rejects.toThrow('first')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.unlistened()).toBe(1)
  })
})
