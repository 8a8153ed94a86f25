#!/usr/bin/env node
// After `npm run build`: load every published package the way users do — ESM import and CommonJS require, through
// its `exports` map — and check both formats expose the same names, with types beside each.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const packages = [
  'packages/core',
  'adapters/redis',
  'adapters/rabbitmq',
  'conformance-tests',
  'packages/dashboard',
  'packages/cli',
  'packages/celery',
  'packages/otel',
]
const require = createRequire(import.meta.url)
let failed = false

for (const dir of packages) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  if (!pkg.exports?.['.']) {
    console.error(`[check-dist] ${pkg.name}: no exports["."]`)
    failed = true
    continue
  }
  // Every entry point (`.` and subpaths such as `@conveyor/core/adapter`), not only the main one.
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === 'string') continue // ./package.json
    await checkEntry(dir, subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`, entry)
  }
}

async function checkEntry(dir, name, entry) {
  // ESM-only is allowed where a dependency is ESM-only (the conformance suite runs inside vitest).
  const esmOnly = entry?.import && !entry.require
  if (!entry?.import || (!entry.require && !esmOnly)) {
    console.error(`[check-dist] ${name}: its exports entry needs import (and require) conditions`)
    failed = true
    return
  }
  const files = [
    entry.import.default,
    entry.import.types,
    ...(esmOnly ? [] : [entry.require.default, entry.require.types]),
  ]
  const missing = files.filter((file) => !existsSync(join(root, dir, file)))
  if (missing.length > 0) {
    console.error(`[check-dist] ${name}: missing after the build: ${missing.join(', ')}`)
    failed = true
    return
  }
  const esm = await import(pathToFileURL(join(root, dir, entry.import.default)).href)
  if (esmOnly) {
    console.log(`[check-dist] ${name}: ESM ok (${Object.keys(esm).length} exports; ESM only)`)
    return
  }
  const cjs = require(join(root, dir, entry.require.default))
  const esmNames = Object.keys(esm).sort().join(',')
  const cjsNames = Object.keys(cjs)
    .filter((k) => k !== 'default' || 'default' in esm)
    .sort()
    .join(',')
  if (esmNames !== cjsNames) {
    console.error(`[check-dist] ${name}: ESM and CJS export different names\n  esm: ${esmNames}\n  cjs: ${cjsNames}`)
    failed = true
  } else {
    console.log(`[check-dist] ${name}: ESM + CJS ok (${Object.keys(esm).length} exports)`)
  }
}
process.exit(failed ? 1 : 0)
