export { createPostgresBroker } from './broker'
export type { PostgresBrokerOptions } from './options'
export { dropSchema as dropPostgresNamespace, tablesFor } from './schema'
export { postgresAdapter } from './url-adapter'
