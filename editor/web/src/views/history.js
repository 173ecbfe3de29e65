// History, validation and exports panel (versions API). Filled in as the versions and exports
// APIs land on the server.
import { h } from '../dom.js'

export function mountHistory (root, { ppaId }) {
  const heading = h('h2', { tabindex: '-1' }, 'Historique')
  const body = h('div', {}, h('p', { class: 'muted' }, 'L\'historique des versions sera bientôt disponible.'))
  root.append(heading, body)
  return { refresh () {}, ppaId }
}
