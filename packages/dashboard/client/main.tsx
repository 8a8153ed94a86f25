import 'uplot/dist/uPlot.min.css'
import './style.css'
import { render } from 'preact'
import { config, useLiveStatus } from './api'
import { DeadLettersPage } from './pages/dead-letters'
import { OverviewPage } from './pages/overview'
import { QueuesPage } from './pages/queues'
import { SchedulesPage } from './pages/schedules'
import { TaskPage } from './pages/task'
import { TasksPage } from './pages/tasks'
import { WorkersPage } from './pages/workers'
import { href, type Route, useRoute } from './router'

const NAV = [
  { path: '', label: 'Overview' },
  { path: 'queues', label: 'Queues' },
  { path: 'workers', label: 'Workers' },
  { path: 'tasks', label: 'Tasks' },
  { path: 'dead-letters', label: 'Dead letters' },
  { path: 'schedules', label: 'Schedules' },
]

function Page({ route }: { route: Route }) {
  const [first, second] = route.path
  switch (first ?? '') {
    case '':
      return <OverviewPage />
    case 'queues':
      return <QueuesPage />
    case 'workers':
      return <WorkersPage />
    case 'tasks':
      return second !== undefined ? <TaskPage id={second} /> : <TasksPage route={route} />
    case 'dead-letters':
      return <DeadLettersPage route={route} />
    case 'schedules':
      return <SchedulesPage />
    default:
      return <div class="empty">No such page.</div>
  }
}

function App() {
  const route = useRoute()
  const live = useLiveStatus()
  const active = route.path[0] ?? ''
  return (
    <div class="layout">
      <header class="topbar">
        <a class="brand" href="#/">
          <span class="logo" aria-hidden="true">
            ▶▶
          </span>
          {config.title}
        </a>
        <nav>
          {NAV.map((item) => (
            <a key={item.path} href={href(item.path ? [item.path] : [])} class={active === item.path ? 'active' : ''}>
              {item.label}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        {config.readOnly ? <span class="pill">read-only</span> : null}
        <span class={`live ${live ? 'on' : 'off'}`} title={live ? 'live updates on' : 'reconnecting'}>
          <span class="dot" /> {live ? 'live' : 'offline'}
        </span>
      </header>
      <main class="content">
        <Page route={route} />
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app') as HTMLElement)
