// Reproducible production build of the browser editor: esbuild bundles src/ into
// dist/assets/app-<hash>.{js,css} and writes dist/index.html pointing at them.
// Usage: npm run build            (node build.mjs)
import * as esbuild from 'esbuild'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, 'dist')
const root = path.resolve(here, '..', '..')

// The field list and French labels exist once, in editor/catalogue.py and server/labels.py:
// generate the browser's copy (src/generated/, not committed) with the project's Python
// (scripts/bootstrap.sh makes .venv first).
const venvPython = path.join(root, '.venv', 'bin', 'python')
const python = process.env.PPA_PYTHON || (existsSync(venvPython) ? venvPython : 'python3')
const catalogue = execFileSync(python, ['-m', 'server.labels', '--json'], { cwd: root, encoding: 'utf8' })
await mkdir(path.join(here, 'src', 'generated'), { recursive: true })
await writeFile(path.join(here, 'src', 'generated', 'catalogue.json'), catalogue)

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
