import { defineMutant } from './mutant'

/** replay() republishes the dead envelope as it was: the attempt counter is not reset, so it dies again at once. */
export const replayKeepsAttempt = defineMutant({
  name: 'replay-keeps-attempt',
  bug: 'dead-letter replay keeps the exhausted attempt counter',
  mustFail: ['dead-letter.replay'],
  mutation: () => ({
    deadLetters: (inner) => ({
      ...inner.deadLetters,
      async replay(queue, selection = {}) {
        const dead = await inner.deadLetters.list(queue, { limit: 10_000 })
        const wanted = dead.filter((d) => d.envelope && (!selection.ids || selection.ids.includes(d.id)))
        const picked = wanted.slice(0, selection.limit ?? wanted.length)
        for (const entry of picked) await inner.publish(entry.envelope!)
        await inner.deadLetters.purge(
          queue,
          picked.map((d) => d.id),
        )
        return picked.length
      },
    }),
  }),
})
