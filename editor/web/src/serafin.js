// SERAFIN-PH pickers: search by code or words (GET /api/terminology/serafin?q=&kind=), browse
// the tree (GET /api/terminology/serafin/tree); deprecated codes are hidden (the API's default).
import { api } from './api.js'
import { openDialog } from './dialog.js'
import { debounce, h, uid, replace } from './dom.js'
import { SERAFIN_KIND_LABELS } from './labels.js'

/** Official labels of codes, learnt from the PPA response, searches and lookups. */
export class SerafinLabels {
  constructor (initial = {}) {
    this.labels = new Map(Object.entries(initial))
    this.pending = new Map()
    this.listeners = new Set()
  }

  get (code) {
    if (!code) return ''
    if (this.labels.has(code)) return this.labels.get(code)
    if (!this.pending.has(code)) {
      this.pending.set(code, api(`/api/terminology/serafin/${encodeURIComponent(code)}`)
        .then((c) => { this.learn([c]) })
        .catch(() => { this.labels.set(code, '') }))
    }
    return ''
  }

  learn (concepts) {
    let changed = false
    for (const c of concepts) {
      if (this.labels.get(c.code) !== c.label) { this.labels.set(c.code, c.label); changed = true }
      if (c.children) this.learn(c.children)
    }
    if (changed) for (const fn of this.listeners) fn()
  }

  onChange (fn) {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  describe (code) {
    const label = this.get(code)
    return label ? `${code} – ${label}` : code
  }
}

let treeCache = null

/** "Logement accompagné" -> "logement accompagne": lower case, no accents. */
const fold = (text) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()

/** Edit distance (insert, delete, replace, swap two neighbours), stopped above `limit`. */
function distance (a, b, limit) {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let prev2 = null
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
      if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1)
      row.push(d)
      best = Math.min(best, d)
    }
    if (best > limit) return limit + 1
    prev2 = prev
    prev = row
  }
  return prev[b.length]
}

/**
 * The codes of `nodes` (a tree) matching what was typed, best first: a code or its beginning
 * ("1.3.2" finds 1.3.2 and 1.3.2.1...), or words, each found at the start of a word of the code's
 * label with a typo or two allowed ("logemnt" finds "logement").
 * @param {Array<{code: string, label: string, kind: string, children?: any[]}>} nodes
 * @param {string} query
 * @param {string[]} kinds
 */
export function searchTree (nodes, query, kinds) {
  const flat = []
  const walk = (list) => { for (const n of list) { if (kinds.includes(n.kind) && n.code.includes('.')) flat.push(n); walk(n.children || []) } }
  walk(nodes)
  const q = fold(query.trim())
  if (!q) return []
  if (/^\d+(\.\d+)*\.?$/.test(q)) {
    const prefix = q.replace(/\.$/, '')
    return flat.filter((n) => n.code === prefix || n.code.startsWith(`${prefix}.`) || (q.endsWith('.') ? false : n.code.startsWith(prefix)))
  }
  const words = q.split(/[^a-z0-9.]+/).filter(Boolean)
  const scored = []
  for (const n of flat) {
    const own = fold(`${n.code} ${n.label}`).split(/[^a-z0-9.]+/).filter(Boolean)
    let total = 0
    for (const w of words) {
      const allowed = w.length >= 8 ? 2 : w.length >= 4 ? 1 : 0
      let best = allowed + 1
      for (const o of own) {
        if (o.startsWith(w)) { best = 0; break }
        best = Math.min(best, distance(w, o, allowed), distance(w, o.slice(0, w.length), allowed))
      }
      if (best > allowed) { total = -1; break }
      total += best
    }
    if (total >= 0) scored.push([total, n])
  }
  return scored.sort((a, b) => a[0] - b[0]).map(([, n]) => n)
}

/** Arrow keys move between the choices of a list (and back up to the search field). */
function arrowKeys (input, results) {
  const choices = () => [...results.querySelectorAll('button.serafin-choice:not([disabled])')]
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown') return
    const first = choices()[0]
    if (first) { event.preventDefault(); first.focus() }
  })
  results.addEventListener('keydown', (event) => {
    const list = choices()
    const at = list.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement))
    if (at < 0) return
    let next = null
    if (event.key === 'ArrowDown') next = list[Math.min(at + 1, list.length - 1)]
    else if (event.key === 'ArrowUp') next = at === 0 ? input : list[at - 1]
    else if (event.key === 'Home') next = list[0]
    else if (event.key === 'End') next = list[list.length - 1]
    if (next) { event.preventDefault(); next.focus() }
  })
}

/**
 * Let the user pick a code. kinds: ['besoin'] or ['prestation_directe', 'prestation_indirecte'].
 * Resolves to the chosen code or null.
 * @param {object} options
 * @param {string} options.title
 * @param {string[]} options.kinds SERAFIN-PH kinds offered
 * @param {SerafinLabels} options.labels learns the labels of the codes found
 * @param {Set<string>} [options.exclude] codes shown as already chosen
 * @returns {Promise<string | null>}
 */
export function pickSerafin ({ title, kinds, labels, exclude = new Set() }) {
  const searchId = uid('serafin-q')
  const resultsId = uid('serafin-r')
  return openDialog({
    title,
    className: 'dialog--wide',
    describe: 'Recherchez par code ou son début (ex. 1.3.2) ou par mots (ex. logement), puis choisissez avec les flèches ou la souris ; ou parcourez la nomenclature. Les codes obsolètes ne sont pas proposés.',
    build: (close) => {
      let kindFilter = kinds.length === 1 ? kinds[0] : ''
      const input = h('input', { id: searchId, type: 'search', autocomplete: 'off', 'aria-controls': resultsId, autofocus: true })
      const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' })
      const results = h('ul', { class: 'serafin-results', id: resultsId, 'aria-label': 'Résultats' })
      const choose = (code) => close(code)
      const item = (c) => h('li', {},
        h('button', {
          type: 'button',
          class: 'serafin-choice',
          disabled: exclude.has(c.code),
          dataset: { code: c.code },
          on: { click: () => choose(c.code) }
        },
        h('span', { class: 'code' }, c.code), ' ', h('span', {}, c.label),
        kinds.length > 1 ? h('span', { class: 'muted' }, ` (${SERAFIN_KIND_LABELS[c.kind] || c.kind})`) : null,
        exclude.has(c.code) ? h('span', { class: 'muted' }, ' – déjà choisi') : null))
      let seq = 0
      const search = debounce(async () => {
        const q = input.value.trim()
        const mine = ++seq
        if (!q) { results.replaceChildren(); status.textContent = ''; return }
        status.textContent = 'Recherche…'
        try {
          const wanted = kindFilter ? [kindFilter] : kinds
          if (!treeCache) treeCache = await api('/api/terminology/serafin/tree')
          if (mine !== seq) return
          const found = searchTree(treeCache, q, wanted).slice(0, 60)
          labels.learn(found.map((c) => ({ code: c.code, label: c.label })))
          replace(results, ...found.map(item))
          status.textContent = found.length === 0
            ? 'Aucun code ne correspond.'
            : `${found.length} code${found.length > 1 ? 's' : ''} trouvé${found.length > 1 ? 's' : ''}.`
        } catch (error) {
          status.textContent = error.message
        }
      }, 200)
      input.addEventListener('input', search)
      arrowKeys(input, results)

      const kindChooser = kinds.length > 1
        ? h('fieldset', { class: 'segmented' }, h('legend', {}, 'Type de prestation'),
          ...[['', 'Toutes'], ...kinds.map((k) => [k, k === 'prestation_directe' ? 'Directes (2.x)' : 'Indirectes (3.x)'])].map(([value, text]) => {
            const id = uid('kind')
            const radio = h('input', { type: 'radio', name: `${searchId}-kind`, id, value, checked: value === kindFilter })
            radio.addEventListener('change', () => { kindFilter = value; search(); loadTree() })
            return h('span', { class: 'segmented__item' }, radio, h('label', { for: id }, text))
          }))
        : null

      const tree = h('div', { class: 'serafin-tree' }, h('p', { class: 'muted' }, 'Chargement de la nomenclature…'))
      const node = (n) => {
        const selectable = n.code.includes('.')
        const choice = selectable
          ? h('button', { type: 'button', class: 'serafin-choice', disabled: exclude.has(n.code), dataset: { code: n.code }, on: { click: () => choose(n.code) } },
            h('span', { class: 'code' }, n.code), ' ', n.label)
          : h('span', { class: 'serafin-root' }, h('span', { class: 'code' }, n.code), ' ', n.label)
        if (!n.children?.length) return h('li', {}, choice)
        return h('li', {}, h('details', {},
          h('summary', {}, h('span', { class: 'sr-only' }, 'Déplier '), `${n.code} ${n.label}`),
          selectable ? h('div', { class: 'serafin-self' }, choice) : null,
          h('ul', {}, n.children.map(node))))
      }
      const loadTree = async () => {
        try {
          if (!treeCache) treeCache = await api('/api/terminology/serafin/tree')
          labels.learn(treeCache)
          const wanted = kindFilter ? [kindFilter] : kinds
          const filterTree = (nodes) => nodes
            .filter((n) => wanted.includes(n.kind))
            .map((n) => ({ ...n, children: filterTree(n.children || []) }))
          replace(tree, h('ul', { class: 'tree' }, filterTree(treeCache).map(node)))
        } catch (error) {
          replace(tree, h('p', { class: 'form-error' }, error.message))
        }
      }
      loadTree()
      return h('div', { class: 'serafin-picker' },
        h('div', { class: 'field' }, h('label', { for: searchId }, 'Rechercher un code ou des mots'), input),
        kindChooser,
        status,
        results,
        h('details', { class: 'serafin-browse' }, h('summary', {}, 'Parcourir la nomenclature SERAFIN-PH'), tree),
        h('div', { class: 'dialog__actions' }, h('button', { type: 'button', class: 'btn', on: { click: () => close(null) } }, 'Annuler')))
    }
  }).result
}
