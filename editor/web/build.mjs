// Reproducible production build of the browser editor: esbuild bundles src/ into
// dist/assets/app-<hash>.{js,css} and writes dist/index.html pointing at them.
// Usage: npm run build            (node build.mjs)
import * as esbuild from 'esbuild'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, 'dist')

await rm(dist, { recursive: true, force: true })
await mkdir(path.join(dist, 'assets'), { recursive: true })

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: 'dist/assets',
  metafile: true,
  logLevel: 'warning'
})

const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p))
const js = outputs.find((f) => f.endsWith('.js'))
const css = outputs.find((f) => f.endsWith('.css'))
if (!js || !css) throw new Error('esbuild did not produce app js and css')

const template = await readFile(path.join(here, 'src', 'index.html'), 'utf8')
const html = template
  .replace('%APP_CSS%', `/assets/${css}`)
  .replace('%APP_JS%', `/assets/${js}`)
await writeFile(path.join(dist, 'index.html'), html)
console.log(`editor/web: built dist/assets/${js} and ${css}`)
