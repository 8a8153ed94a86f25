#!/usr/bin/env node
// Fails when a function in a package's src/ passes MAX lines (STYLE: none over ~80; split by concept instead).
// Usage: node scripts/check-function-length.mjs   (MAX=60 to look for the next ones)
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import ts from 'typescript'

const max = Number(process.env.MAX ?? 80)
const files = execFileSync(
  'git',
  ['ls-files', '*/src/*.ts', '*/src/**/*.ts', '*/client/**/*.ts', '*/client/**/*.tsx'],
  { encoding: 'utf8' },
)
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('bench/') && !f.startsWith('examples/') && !f.endsWith('.d.ts'))

function nameOf(node) {
  if (node.name !== undefined) return node.name.getText()
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText()
  return '<anonymous>'
}

const long = []
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line
      const last = source.getLineAndCharacterOfPosition(node.end).line
      if (last - first + 1 > max) long.push(`${last - first + 1} lines  ${file}:${first + 1}  ${nameOf(node)}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
}
if (long.length > 0) {
  console.error(
    `[function-length] ${long.length} function(s) over ${max} lines; split them by concept:\n${long.join('\n')}`,
  )
  process.exit(1)
}
console.log(`[function-length] ${files.length} files, no function over ${max} lines`)
