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
    describe: 'Recherchez par code (ex. 1.3.2) ou par mots (ex. logement), ou parcourez la nomenclature. Les codes obsolètes ne sont pas proposés.',
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
          const lists = await Promise.all(wanted.map((kind) => api(`/api/terminology/serafin?q=${encodeURIComponent(q)}&kind=${kind}`)))
          if (mine !== seq) return
          const found = lists.flat().filter((c) => c.code.includes('.'))
          labels.learn(found)
          replace(results, ...found.map(item))
          status.textContent = found.length === 0
            ? 'Aucun code ne correspond.'
            : `${found.length} code${found.length > 1 ? 's' : ''} trouvé${found.length > 1 ? 's' : ''}.`
        } catch (error) {
          status.textContent = error.message
        }
      }, 200)
      input.addEventListener('input', search)

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
