import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { type ConveyorEvent, chord, createApp, group } from '@conveyor/core'
import { createMemoryBroker } from '@conveyor/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildClient } from '../client-build'
import { CSRF_HEADER, createDashboard, type Dashboard, DashboardAuthRequiredError, serveDashboard } from '../src/index'

const app = createApp({ broker: createMemoryBroker(), logger: false, events: true })
const local = { remoteAddress: '127.0.0.1' }
const dashboards: Dashboard[] = []
const make = (options: Omit<Parameters<typeof createDashboard>[0], 'app'> = {}) => {
  const dashboard = createDashboard({ app, ...options })
  dashboards.push(dashboard)
  return dashboard
}
const csrfOf = async (dashboard: Dashboard, init: RequestInit = {}) => {
  const html = await (await dashboard.fetch(new Request(`http://localhost${dashboard.basePath}`, init), local)).text()
  return /data-csrf="([^"]+)"/.exec(html)![1]!
}

beforeAll(() => buildClient())
afterAll(async () => {
  for (const dashboard of dashboards) await dashboard.close()
  await app.close()
})

describe('who may use the dashboard', () => {
  it('serves loopback clients without auth, and refuses everybody else', async () => {
    const dashboard = make()
    expect((await dashboard.fetch(new Request('http://localhost/'), local)).status).toBe(200)
    expect(
      (await dashboard.fetch(new Request('http://localhost/'), { remoteAddress: '::ffff:127.0.0.1' })).status,
    ).toBe(200)
    const remote = await dashboard.fetch(new Request('http://localhost/'), { remoteAddress: '10.1.2.3' })
    expect(remote.status).toBe(403)
    expect(((await remote.json()) as { error: { message: string } }).error.message).toMatch(/configure basic auth/)
    // A fetch host that does not say where the request came from gets the same refusal.
    expect((await dashboard.fetch(new Request('http://localhost/'))).status).toBe(403)
  })

  it('without auth answers to loopback host names only: a rebound name is refused, even from loopback', async () => {
    // DNS rebinding: a web page points its own name at 127.0.0.1, and the victim's browser then sends same-origin
    // requests for that name to the dashboard — from loopback. It used to be served the page (with its CSRF token)
    // and to have its purge accepted.
    const dashboard = make({ allowedHosts: ['conveyor.test'] })
    const csrf = await csrfOf(dashboard)
    const asHost = (host: string, init: RequestInit = {}) =>
      dashboard.fetch(new Request(`http://${host}/`, init), local)
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'app.localhost', 'Conveyor.Test:8080']) {
      expect((await asHost(host)).status, host).toBe(200)
    }
    const rebound = await asHost('attacker.example:8080')
    expect(rebound.status).toBe(403)
    expect(((await rebound.json()) as { error: { message: string } }).error.message).toMatch(/allowedHosts/)
    const purge = await dashboard.fetch(
      new Request('http://attacker.example:8080/api/queues/default/purge', {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CSRF_HEADER]: csrf, 'sec-fetch-site': 'same-origin' },
        body: JSON.stringify({ confirm: 'default' }),
      }),
      local,
    )
    expect(purge.status).toBe(403)
    // With auth configured, the name does not matter (a reverse proxy's, a cluster's).
    const authed = make({ auth: { bearer: 't0ken' } })
    const named = await authed.fetch(
      new Request('http://dashboard.internal/', { headers: { authorization: 'Bearer t0ken' } }),
      { remoteAddress: '10.1.2.3' },
    )
    expect(named.status).toBe(200)
  })

  it('answers a request Node accepts but a Web Request refuses with 400, and keeps serving', async () => {
    const { connect } = await import('node:net')
    const served = await serveDashboard({ app, port: 0, host: '127.0.0.1' })
    const port = Number(new URL(served.url).port)
    const send = (raw: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(raw))
        let out = ''
        socket.on('data', (chunk) => {
          out += chunk.toString()
        })
        socket.on('close', () => resolve(out.split('\r\n')[0] ?? ''))
        socket.on('error', (error) => resolve(`socket error ${error.message}`))
      })
    try {
      // Either used to throw out of the request listener and end the process, before any auth ran.
      expect(await send('TRACE / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).toBe(
        'HTTP/1.1 400 Bad Request',
      )
      expect(await send('GET / HTTP/1.1\r\nHost: [\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request')
      expect(await send('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 200 OK')
    } finally {
      await served.close()
    }
  })

  it('will not listen on a non-loopback address without auth', async () => {
    const refused = serveDashboard({ app, host: '0.0.0.0', port: 0 })
    await expect(refused).rejects.toBeInstanceOf(DashboardAuthRequiredError)
    await expect(refused).rejects.toMatchObject({ code: 'CONVEYOR_DASHBOARD_AUTH_REQUIRED' })
  })

  it('starts without asking authorize(): its warm-up is not a request, and a hook that never answers cannot hang it', async () => {
    let asked = 0
    const authorize = () => {
      asked++
      return new Promise<boolean>(() => {}) // a session lookup that never answers
    }
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('start hung')), 3_000))
    const served = await Promise.race([serveDashboard({ app, port: 0, auth: { authorize } }), timeout])
    try {
      expect(asked).toBe(0)
    } finally {
      await served.close()
    }
  })

  it('checks basic auth: a wrong password gets 401 and a challenge', async () => {
    const dashboard = make({ auth: { basic: { username: 'ops', password: 's3cret' } } })
    const basic = (user: string, pass: string) => ({
      headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` },
    })
    const wrong = await dashboard.fetch(new Request('http://localhost/', basic('ops', 'nope')), {
      remoteAddress: '10.0.0.9',
    })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/)
    expect((await dashboard.fetch(new Request('http://localhost/'), { remoteAddress: '10.0.0.9' })).status).toBe(401)
    const right = await dashboard.fetch(new Request('http://localhost/', basic('ops', 's3cret')), {
      remoteAddress: '10.0.0.9',
    })
    expect(right.status).toBe(200)
  })

  it('checks a bearer token, and the host app’s authorize hook', async () => {
    const bearer = make({ auth: { bearer: 'tok-123' } })
    expect((await bearer.fetch(new Request('http://localhost/api/meta'))).status).toBe(401)
    const ok = await bearer.fetch(
      new Request('http://localhost/api/meta', { headers: { authorization: 'Bearer tok-123' } }),
    )
    expect(ok.status).toBe(200)
    const hooked = make({ auth: { authorize: (request) => request.headers.get('cookie') === 'session=admin' } })
    expect((await hooked.fetch(new Request('http://localhost/api/meta'))).status).toBe(403)
    expect(
      (await hooked.fetch(new Request('http://localhost/api/meta', { headers: { cookie: 'session=admin' } }))).status,
    ).toBe(200)
  })
})

describe('actions', () => {
  const purge = (dashboard: Dashboard, headers: Record<string, string>) =>
    dashboard.fetch(
      new Request('http://localhost/api/queues/default/purge', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ confirm: 'default' }),
      }),
      local,
    )

  it('need the CSRF token the page was served with, and refuse cross-site requests', async () => {
    const dashboard = make()
    const token = await csrfOf(dashboard)
    expect((await purge(dashboard, {})).status).toBe(403)
    expect((await purge(dashboard, { [CSRF_HEADER]: 'guess' })).status).toBe(403)
    expect((await purge(dashboard, { [CSRF_HEADER]: token, 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    const done = await purge(dashboard, { [CSRF_HEADER]: token, 'sec-fetch-site': 'same-origin' })
    expect(done.status).toBe(200)
    expect(await done.json()).toEqual({ queue: 'default', removed: 0 })
  })

  it('are refused in read-only mode', async () => {
    const dashboard = make({ readOnly: true })
    const token = await csrfOf(dashboard)
    const refused = await purge(dashboard, { [CSRF_HEADER]: token })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ error: { code: 'CONVEYOR_DASHBOARD_READ_ONLY' } })
  })

  it('purge a queue only when told its name', async () => {
    const dashboard = make()
    const token = await csrfOf(dashboard)
    const response = await dashboard.fetch(
      new Request('http://localhost/api/queues/default/purge', {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CSRF_HEADER]: token },
        body: '{}',
      }),
      local,
    )
    expect(response.status).toBe(400)
  })
})

describe('mounting', () => {
  it('runs as a Node handler under a base path, with action bodies streamed through', async () => {
    const { createServer } = await import('node:http')
    const dashboard = make({ basePath: '/ops/conveyor' })
    // What Express does when mounted at /ops: req.url loses the mount path, originalUrl keeps it.
    const server = createServer((req, res) => {
      ;(req as typeof req & { originalUrl?: string }).originalUrl = req.url
      req.url = req.url!.replace(/^\/ops/, '') || '/'
      dashboard.node(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/ops/conveyor/`
    try {
      const html = await (await fetch(base)).text()
      const token = /data-csrf="([^"]+)"/.exec(html)![1]!
      const purged = await fetch(`${base}api/queues/default/purge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CSRF_HEADER]: token },
        body: JSON.stringify({ confirm: 'default' }),
      })
      expect(purged.status).toBe(200)
      expect(await purged.json()).toEqual({ queue: 'default', removed: 0 })
      const gz = await fetch(`${base}assets/app.js`, { headers: { 'accept-encoding': 'gzip' } })
      expect(gz.status).toBe(200)
      expect((await gz.text()).length).toBeGreaterThan(10_000)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('serves under a base path, with asset URLs below it', async () => {
    const dashboard = make({ basePath: '/admin/conveyor' })
    const redirect = await dashboard.fetch(new Request('http://localhost/admin/conveyor'), local)
    expect(redirect.status).toBe(308)
    expect(redirect.headers.get('location')).toBe('http://localhost/admin/conveyor/')
    const page = await dashboard.fetch(new Request('http://localhost/admin/conveyor/'), local)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await page.text()
    expect(html).toContain('src="/admin/conveyor/assets/app.js?v=')
    const js = await dashboard.fetch(new Request('http://localhost/admin/conveyor/assets/app.js'), local)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    expect((await dashboard.fetch(new Request('http://localhost/other/'), local)).status).toBe(404)
  })
})

describe('task runs', () => {
  it('are listed from the app’s history by state and time window, and looked up one by one', async () => {
    const local2 = createApp({ broker: createMemoryBroker(), logger: false, events: true })
    local2.task('sum', async (input: { a: number; b: number }) => input.a + input.b, { queue: 'math' })
    const worker = local2.worker({ queues: ['math'] })
    await worker.start()
    const dashboard = createDashboard({ app: local2 })
    try {
      const job = await local2.enqueue('sum', { a: 2, b: 3 })
      expect(await job.result()).toBe(5)
      const get = async (path: string) =>
        (await dashboard.fetch(new Request(`http://localhost/api/${path}`), local)).json()
      // The succeeded event reaches the history a moment after the result (events are batched off the hot path).
      let listed = { runs: [] as { id: string }[] }
      for (const deadline = Date.now() + 10_000; listed.runs.length === 0 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        listed = (await get('tasks?state=succeeded&window=60&queue=math')) as typeof listed
      }
      expect(listed.runs.map((run) => run.id)).toEqual([job.id])
      expect(((await get('tasks?state=failed')) as { runs: unknown[] }).runs).toEqual([])
      const detail = (await get(`tasks/${job.id}`)) as { run: { input: string; result: string; state: string } }
      expect(detail.run).toMatchObject({ state: 'succeeded', input: '{"a":2,"b":3}', result: '5' })
      const bad = await dashboard.fetch(new Request('http://localhost/api/tasks?state=nope'), local)
      expect(bad.status).toBe(400)
    } finally {
      await dashboard.close()
      await local2.close()
    }
  })
})

describe('workflows', () => {
  it('a workflow id shows its members and their states; a member shows its progress', async () => {
    const app = createApp({ broker: createMemoryBroker(), logger: false })
    const double = app.task('wf.double', async (n: number, ctx) => {
      await ctx.progress({ done: n })
      return n * 2
    })
    const sum = app.task('wf.sum', (ns: number[]) => ns.reduce((a, b) => a + b, 0))
    await app.worker().start()
    const dashboard = createDashboard({ app })
    try {
      const job = await app.enqueueWorkflow(chord(group([1, 2, 3].map((n) => double.with(n))), sum))
      expect(await job.result({ timeoutMs: 5000 })).toBe(12)
      const get = async (path: string) =>
        (await dashboard.fetch(new Request(`http://localhost/api/${path}`), local)).json()
      const detail = (await get(`tasks/${job.id}`)) as {
        record: { state: string }
        workflow: { total: number; states: Record<string, number>; members: { id: string; task: string }[] }
      }
      expect(detail.record.state).toBe('succeeded')
      expect(detail.workflow.total).toBe(4)
      expect(detail.workflow.states).toEqual({ succeeded: 4 })
      expect(detail.workflow.members.map((m) => m.task)).toEqual(['wf.double', 'wf.double', 'wf.double', 'wf.sum'])
      const member = (await get(`tasks/${detail.workflow.members[1]!.id}`)) as {
        record: { progress: unknown }
        workflow?: unknown
      }
      expect(member.record.progress).toEqual({ done: 2 })
      expect(member.workflow).toBeUndefined()
    } finally {
      await dashboard.close()
      await app.close()
    }
  })
})

describe('live updates', () => {
  it('coalesce a burst of 1,000 events a second into at most two notices a second', async () => {
    let emit: (event: ConveyorEvent) => void = () => {}
    const dashboard = make({
      events: {
        local: false,
        subscribe(listener) {
          emit = listener
          return () => {}
        },
      },
    })
    const controller = new AbortController()
    const response = await dashboard.fetch(
      new Request('http://localhost/api/live', { signal: controller.signal }),
      local,
    )
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        text += value
      }
    })()
    const started = Date.now()
    for (let i = 0; i < 1000; i++) {
      emit({ type: 'task.succeeded', id: `r${i}`, task: 't', queue: 'q', attempt: 1, at: Date.now(), durationMs: 1 })
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 600))
    const seconds = (Date.now() - started) / 1000
    controller.abort()
    await reading.catch(() => undefined)
    const notices = [...text.matchAll(/event: change\ndata: (.*)\n/g)].map(
      (m) => JSON.parse(m[1]!) as { events: number },
    )
    expect(notices.reduce((sum, n) => sum + n.events, 0)).toBe(1000)
    expect(notices.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 1)
  })
})

describe('the client bundle', () => {
  it('stays within 150 KB gzipped, with no URL to fetch anything from elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-client-'))
    try {
      await buildClient(dir)
      const js = readFileSync(join(dir, 'app.js'))
      const css = readFileSync(join(dir, 'app.css'))
      const gzipped = gzipSync(js, { level: 9 }).length + gzipSync(css, { level: 9 }).length
      expect(gzipped).toBeLessThanOrEqual(150 * 1024)
      expect(`${js}${css}`).not.toMatch(
        /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^\s"')]*\.(js|css|woff2?)/i,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
