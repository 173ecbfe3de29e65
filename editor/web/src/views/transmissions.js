// Transmissions of a validated version (issue 14): "Transmettre" by MSSanté to members of the
// cercle, a structure of the directory or an MSSanté address, or into the DMP; "Envoyer la fiche de liaison à la MDPH" for a
// validated avenant (MSSanté to the MDPH + DMP, one action); the statuses of each transmission.
import { api, ApiError } from '../api.js'
import { formatDateTime, h, replace, uid } from '../dom.js'

const CHANNEL_LABELS = { mssante: 'MSSanté', dmp: 'DMP' }
const DOCUMENT_LABELS = { ppa: 'PPA', mdph: 'Fiche de liaison MDPH' }
/** The event a transmissions block reloads its list on. */
const RELOAD = 'transmissions-reload'

/**
 * One line per transmission: channel, document, recipients, status (with the error), attempts.
 * @param {any[]} rows
 */
export function transmissionList (rows) {
  if (!rows.length) return h('p', { class: 'muted' }, 'Aucune transmission.')
  return h('ul', { class: 'transmissions' }, rows.map((t) => h('li', { class: 'transmission', dataset: { status: t.status, channel: t.channel } },
    h('strong', {}, `${CHANNEL_LABELS[t.channel] || t.channel} · ${DOCUMENT_LABELS[t.document] || t.document}`),
    t.recipients.length ? ` → ${t.recipients.map((r) => r.label || r.address).join(', ')}` : '',
    ' : ', h('span', { class: 'transmission__status' }, t.status_label),
    t.error_label ? ` (${t.error_code} : ${t.error_label})` : '',
    ` · ${t.attempts} tentative${t.attempts > 1 ? 's' : ''}`,
    t.read_at ? ` · lu le ${formatDateTime(t.read_at)}` : (t.sent_at ? ` · envoyé le ${formatDateTime(t.sent_at)}` : ''))))
}

/**
 * The transmissions block of a validated version (validation or avenant); `open`: shown unfolded
 * (the avenant just validated: the fiche de liaison is offered), `onToggle` told when it folds.
 * @param {{ ppaId: string, personId: string, version: any, canTransmit: boolean, run: (label: string, fn: () => Promise<any>) => Promise<any>, setStatus: (text: string) => void, open?: boolean, onToggle?: (open: boolean) => void }} opts
 */
export function transmissionsBlock ({ ppaId, personId, version, canTransmit, run, setStatus, open = false, onToggle = () => {} }) {
  const base = `/api/ppas/${encodeURIComponent(ppaId)}/versions/${version.number}`
  const listRegion = h('div', { 'aria-live': 'polite' })
  const summaryId = uid('tx')

  const members = h('fieldset', { class: 'transmit__members' }, h('legend', {}, 'Professionnels du cercle'))
  let membersLoaded = false
  async function loadMembers () {
    if (!canTransmit || membersLoaded) return
    membersLoaded = true
    let cercle = []
    try {
      cercle = await api(`/api/persons/${encodeURIComponent(personId)}/cercle`)
    } catch { /* the free address stays available */ }
    const pros = cercle.filter((m) => m.professional_id && !m.opposed)
    if (!pros.length) members.append(h('p', { class: 'muted' }, 'Aucun professionnel dans le cercle.'))
    for (const m of pros) {
      const id = uid('txm')
      members.append(h('div', { class: 'checkbox' },
        h('input', { id, type: 'checkbox', value: m.professional_id }),
        h('label', { for: id }, m.display_name)))
    }
  }

  // Structures of the directory with an MSSanté address (an MDPH, another ESMS, a hospital).
  const structure = h('select', { id: uid('txs') }, h('option', { value: '' }, '— aucune —'))
  let structuresLoaded = false
  async function loadStructures () {
    if (!canTransmit || structuresLoaded) return
    structuresLoaded = true
    let structures = []
    try {
      structures = await api('/api/structures')
    } catch { /* the other recipients stay available */ }
    for (const s of structures.filter((s) => s.mss_address)) {
      structure.append(h('option', { value: s.id }, `${s.name} (${s.mss_address})`))
    }
  }

  // Loads may overlap (unfolded, then a request sent): only the latest one's answer is shown.
  let loads = 0
  async function load () {
    const mine = ++loads
    loadMembers()
    loadStructures()
    let list
    try {
      list = transmissionList(await api(`${base}/transmissions`))
    } catch (error) {
      list = h('p', { class: 'muted' }, error instanceof ApiError ? error.message : 'Transmissions indisponibles.')
    }
    if (mine === loads) replace(listRegion, list)
  }

  // After a request, every block of this version on the page reloads: the history may have been
  // repainted while the request ran, putting a new block (loaded before it) in this one's place.
  function reloadEverywhere () {
    for (const block of document.querySelectorAll('.transmissions-menu')) {
      const el = /** @type {HTMLElement} */ (block)
      if (el.dataset.ppa === ppaId && el.dataset.version === String(version.number)) el.dispatchEvent(new Event(RELOAD))
    }
  }

  const channel = h('select', { id: uid('txc') },
    h('option', { value: 'mssante' }, 'MSSanté (messagerie sécurisée)'),
    h('option', { value: 'dmp' }, 'DMP (dossier médical partagé)'))
  const address = h('input', { id: uid('txa'), type: 'email', autocomplete: 'off' })
  const form = canTransmit
    ? h('form', {
      class: 'transmit',
      on: {
        submit: async (event) => {
          event.preventDefault()
          const to = []
          if (channel.value === 'mssante') {
            for (const box of members.querySelectorAll('input[type=checkbox]:checked')) to.push({ professional_id: box.value })
            if (structure.value) to.push({ structure_id: structure.value })
            if (address.value.trim()) to.push({ address: address.value.trim() })
          }
          try {
            await run(`Transmission de la version ${version.number}`, () => api(`${base}/transmissions`, { method: 'POST', json: { channel: channel.value, document: 'ppa', to } }))
          } catch { return } // run() has shown the service's reason
          setStatus('Transmission enregistrée : elle part en arrière-plan, son statut s\'affiche ci-dessous.')
          reloadEverywhere()
        }
      }
    },
    h('label', { for: channel.id }, 'Canal'), channel,
    members,
    h('label', { for: structure.id }, 'Structure de l\'annuaire'), structure,
    h('label', { for: address.id }, 'Autre adresse MSSanté'), address,
    h('button', { type: 'submit', class: 'btn btn--small' }, 'Transmettre'))
    : null
  const mdph = canTransmit && version.kind === 'avenant'
    ? h('button', {
      type: 'button',
      class: 'btn btn--small',
      on: {
        click: async () => {
          try {
            await run('Envoi de la fiche de liaison à la MDPH', () => api(`${base}/fiche-mdph`, { method: 'POST', json: {} }))
          } catch { return } // run() has shown the service's reason
          setStatus('Fiche de liaison envoyée à la MDPH (MSSanté) et déposée au DMP : suivez les statuts ci-dessous.')
          reloadEverywhere()
        }
      }
    }, 'Envoyer la fiche de liaison à la MDPH')
    : null
  const details = h('details', {
    class: 'transmissions-menu',
    open,
    dataset: { ppa: ppaId, version: String(version.number) },
    on: {
      toggle: (event) => { onToggle(event.target.open); if (event.target.open) load() },
      [RELOAD]: () => load()
    }
  },
  h('summary', { id: summaryId }, `Transmissions v${version.number}`),
  h('div', { 'aria-labelledby': summaryId }, form, mdph, listRegion))
  return details
}
