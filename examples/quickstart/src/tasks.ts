import { declareTask } from '@conveyor/core'

// Task signatures shared by producers and workers. A web server would import only this file.

export interface Thumbnail {
  readonly image: string
  readonly width: number
}

export interface Email {
  readonly to: string
  readonly subject: string
}

export const createThumbnail = declareTask<Thumbnail, { path: string; bytes: number }>('thumbnail.create', {
  queue: 'images',
})

export const sendEmail = declareTask<Email, { messageId: string }>('email.send', {
  queue: 'emails',
  retry: { maxAttempts: 4 },
})

export const buildReport = declareTask<{ month: string }, { rows: number }>('report.build', {
  queue: 'reports',
  retry: { maxAttempts: 2 },
})
