// Home: the persons and PPAs the user may see (per their role in each person's cercle).
import { api, ApiError } from '../api.js'
import { formatDate, formatDateTime, h } from '../dom.js'
import { PPA_STATUS_LABELS, personName, roleLabel } from '../labels.js'

const EDIT_ROLES = new Set(['coordinator', 'contributor'])
const OWN_PAGE_ROLES = new Set(['person', 'aidant'])

export function mountList (root) {
  document.title = 'Mes PPA - PPA collaboratif'
  const controller = new AbortController()
  const status = h('p', { class: 'loading', role: 'status' }, 'Chargement des personnes accompagnées…')
  const list = h('div', { class: 'person-list' })
  root.append(h('div', { class: 'page' }, h('h1', {}, 'Personnes accompagnées et PPA'), status, list))
  load().catch((error) => {
    if (error.name === 'AbortError') return
    status.textContent = error instanceof ApiError ? error.message : 'Chargement impossible.'
    status.classList.add('form-error')
  })

  async function load () {
    // one request, whatever the number of persons: each with their PPAs and timeline (rule 6:
    // first PPA within 6 months of admission, PPA in force, échu)
    const overview = await api('/api/overview', { signal: controller.signal })
    const persons = overview.map((row) => row.person)
    // an auditor has an entry page of their own (views/auditor.js): validated PPAs, history,
    // audit bundle; someone who only audits goes there, others get a link to it
    const audited = persons.filter((p) => p.my_role === 'auditor')
    if (audited.length > 0 && audited.length === persons.length) {
      location.replace('#/audit')
      return
    }
    if (audited.length > 0) status.before(h('p', {}, h('a', { href: '#/audit', class: 'btn' }, 'Espace audit')))
    status.textContent = persons.length === 0
      ? "Aucune personne accompagnée n'est partagée avec vous."
      : `${persons.length} personne${persons.length > 1 ? 's' : ''} accompagnée${persons.length > 1 ? 's' : ''}.`
    for (const row of overview) list.append(personCard(row.person, row.ppas, row.timeline))
  }

  function personCard (person, ppas, timeline) {
    const headingId = `person-${person.id}`
    const rows = ppas.map((ppa) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/ppa/${encodeURIComponent(ppa.id)}`, class: 'ppa-link' }, ppa.title || 'PPA sans titre'),
        OWN_PAGE_ROLES.has(person.my_role)
          ? [' ', h('a', { href: `#/ppa/${encodeURIComponent(ppa.id)}/moi`, class: 'ppa-link ppa-link--falc' }, person.my_role === 'person' ? '(mon projet, facile à lire)' : '(facile à lire)')]
          : null),
      h('td', {}, h('span', { class: `badge badge--${ppa.status}` }, PPA_STATUS_LABELS[ppa.status] || ppa.status),
        ppa.locked ? h('span', { class: 'badge badge--locked' }, 'Verrouillé') : null,
        ppa.echu ? h('span', { class: 'badge badge--echu', title: ppa.echu_reasons.join(' ') }, 'Échu') : null,
        ppa.echu ? h('span', { class: 'sr-only' }, ` ${ppa.echu_reasons.join(' ')}`) : null),
      h('td', {}, formatDateTime(ppa.updated_at))
    ))
    const card = h('section', { class: 'card person-card', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, personName(person)),
      h('p', { class: 'muted' },
        `${person.sex === 'F' ? 'Née' : person.sex === 'M' ? 'Né' : 'Né·e'} le ${formatDate(person.birth_date)}`,
        person.local_id ? ` · dossier ${person.local_id}` : '',
        ` · votre rôle : ${roleLabel(person.my_role)}`,
        person.admission_date ? ` · admis${person.sex === 'F' ? 'e' : ''} le ${formatDate(person.admission_date)}` : ''),
      timeline ? timelineNote(timeline) : null,
      ppas.length
        ? h('table', { class: 'table' },
          h('caption', { class: 'sr-only' }, `PPA de ${personName(person)}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'PPA'), h('th', { scope: 'col' }, 'État'), h('th', { scope: 'col' }, 'Mis à jour'))),
          h('tbody', {}, rows))
        : h('p', {}, 'Aucun PPA visible pour le moment.')
    )
    if (person.my_role === 'coordinator') card.append(admissionForm(person))
    if (EDIT_ROLES.has(person.my_role)) card.append(newPpaForm(person, ppas.length > 0))
    return card
  }

  function timelineNote (timeline) {
    const lines = []
    if (timeline.first_ppa.status !== 'valide') lines.push(timeline.first_ppa.message)
    if (timeline.gap) lines.push(timeline.gap_reason)
    else if (timeline.in_force?.next_review) lines.push(`Prochaine révision au plus tard le ${formatDate(timeline.in_force.next_review)}.`)
    const alert = timeline.gap || timeline.first_ppa.status === 'en_retard'
    return h('p', { class: alert ? 'notice notice--warning' : 'muted', role: alert ? 'status' : null }, lines.join(' '))
  }

  function admissionForm (person) {
    const id = `admission-${person.id}`
    const input = h('input', { id, type: 'date', value: person.admission_date || '' })
    const error = h('p', { class: 'form-error', role: 'alert' })
    return h('details', { class: 'new-ppa' },
      h('summary', {}, "Date d'admission dans la structure"),
      h('form', {
        on: {
          submit: async (event) => {
            event.preventDefault()
            error.textContent = ''
            try {
              await api(`/api/persons/${encodeURIComponent(person.id)}`, { method: 'PATCH', json: { admission_date: input.value || null } })
              window.dispatchEvent(new HashChangeEvent('hashchange'))
            } catch (err) {
              error.textContent = err.message
            }
          }
        }
      },
      h('div', { class: 'field' }, h('label', { for: id }, "Date d'admission (le premier PPA est dû dans les 6 mois)"), input),
      error,
      h('button', { type: 'submit', class: 'btn' }, 'Enregistrer')))
  }

  function newPpaForm (person, hasPrevious) {
    const id = `new-ppa-${person.id}`
    const title = h('input', { id: `${id}-title`, type: 'text', maxlength: '200', placeholder: 'ex. PPA 2027-2028' })
    const fromPrevious = h('input', { id: `${id}-prev`, type: 'checkbox', checked: hasPrevious, disabled: !hasPrevious })
    const error = h('p', { class: 'form-error', role: 'alert' })
    return h('details', { class: 'new-ppa' },
      h('summary', {}, 'Créer un nouveau PPA'),
      h('form', {
        on: {
          submit: async (event) => {
            event.preventDefault()
            error.textContent = ''
            try {
              const created = await api(`/api/persons/${encodeURIComponent(person.id)}/ppas`, {
                method: 'POST',
                json: { title: title.value.trim() || null, from_previous: fromPrevious.checked }
              })
              location.hash = `#/ppa/${encodeURIComponent(created.id)}`
            } catch (err) {
              error.textContent = err.message
            }
          }
        }
      },
      h('div', { class: 'field' }, h('label', { for: `${id}-title` }, 'Titre (facultatif)'), title),
      h('div', { class: 'field field--inline' }, fromPrevious, h('label', { for: `${id}-prev` }, 'Partir du dernier PPA de la personne')),
      error,
      h('button', { type: 'submit', class: 'btn' }, 'Créer le PPA')))
  }

  return () => controller.abort()
}
