import { describe, expect, it } from 'vitest'
import { conveyorInProcess, REDIS_APP, redisSandboxes } from './helpers'

const sandboxes = redisSandboxes()

describe('conveyor events against Redis', { timeout: 60_000 }, () => {
  it('prints the stream from --from start as JSON lines with offsets, filtered by type and task, and resumes', async () => {
    const { env } = await sandboxes.setup('events')
    const run = (...args: string[]) => conveyorInProcess([...args, '--app', REDIS_APP], env)
    const first = await run('enqueue', 'work.echo', '{"n":1}', '--json', '-q', 'events-q')
    const second = await run('enqueue', 'work.echo', '{"n":2}', '--json', '-q', 'events-q')
    expect(first.code).toBe(0)
    const ids = [JSON.parse(first.stdout).id, JSON.parse(second.stdout).id]
    const all = await run(
      'events',
      '--from',
      'start',
      '--json',
      '--type',
      'task.*',
      '--task',
      'work.echo',
      '--limit',
      '2',
    )
    expect(all.code).toBe(0)
    const lines = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { offset: string; id: string; type: string })
    expect(lines.map((l) => [l.type, l.id])).toEqual([
      ['task.enqueued', ids[0]],
      ['task.enqueued', ids[1]],
    ])
    expect(lines[0]).toMatchObject({ queue: 'events-q', input: '{"n":1}' })
    const resumed = await run('events', '--from', lines[0]!.offset, '--limit', '1')
    expect(resumed.stdout).toMatch(new RegExp(`^\\S+Z task\\.enqueued work\\.echo ${ids[1]} queue=events-q attempt=1`))
    const bad = await run('events', '--from', 'not-an-offset', '--limit', '1')
    expect(bad).toMatchObject({ code: 1 })
    expect(bad.stderr).toMatch(/not an offset of this event stream/)
  })
})
