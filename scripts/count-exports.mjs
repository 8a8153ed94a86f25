#!/usr/bin/env node
// Usage: node scripts/count-exports.mjs packages/core/src/index.ts [more entries]   (LIST=1 to print the names)
import ts from 'typescript'

const files = process.argv.slice(2)
const program = ts.createProgram(files, {
  strict: true,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  target: ts.ScriptTarget.ES2022,
  skipLibCheck: true,
})
const checker = program.getTypeChecker()
for (const f of files) {
  const sf = program.getSourceFile(f)
  const sym = checker.getSymbolAtLocation(sf)
  const ex = sym ? checker.getExportsOfModule(sym) : []
  let values = 0,
    types = 0
  for (const e of ex) {
    const t = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e
    if (t.flags & ts.SymbolFlags.Value) values++
    else types++
  }
  console.log(`${f}: ${ex.length} exports (${values} values, ${types} types only)`)
  if (process.env.LIST)
    console.log(
      ex
        .map((e) => e.name)
        .sort()
        .join(' '),
    )
}
