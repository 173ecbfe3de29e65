// The auditor's entry page (#/audit): the persons they audit, the PPAs they may see (validated
// ones: drafts stay invisible to auditors), each PPA's history with its chain check and
// agreements, the audit bundle, and the person's audit trail. Every refusal offers the way back.
import { api, ApiError, download } from '../api.js'
import { formatDate, formatDateTime, h, replace } from '../dom.js'
import { ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS, PPA_STATUS_LABELS, VERSION_KIND_LABELS, personName } from '../labels.js'

export function mountAuditorHome (root) {
  document.title = 'Espace audit - PPA collaboratif'
  const controller = new AbortController()
  const status = h('p', { class: 'loading', role: 'status' }, 'Chargement des personnes auditées…')
  const list = h('div', { class: 'person-list' })
  root.append(h('div', { class: 'page audit-home' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/' }, 'Accueil'), ' › Espace audit'),
    h('h1', {}, 'Espace audit'),
    h('p', { class: 'muted' }, 'Les PPA validés des personnes que vous auditez, leur historique vérifié et leur dossier d\'audit. Les brouillons en cours ne sont pas visibles en audit.'),
    status, list))
  load().catch((error) => {
    if (error.name === 'AbortError') return
    status.textContent = error instanceof ApiError ? error.message : 'Chargement impossible.'
    status.className = 'form-error'
  })

  async function load () {
    // one request for every person and their PPAs, whatever their number
    const audited = (await api('/api/overview', { signal: controller.signal })).filter((row) => row.person.my_role === 'auditor')
    const persons = audited.map((row) => row.person)
    const ppas = audited.map((row) => row.ppas)
    status.textContent = persons.length === 0
      ? 'Vous n\'auditez aucune personne accompagnée pour le moment.'
      : `${persons.length} personne${persons.length > 1 ? 's' : ''} auditée${persons.length > 1 ? 's' : ''}.`
    persons.forEach((person, index) => list.append(personCard(person, ppas[index])))
  }

  function personCard (person, ppas) {
    const headingId = `audit-person-${person.id}`
    const trail = h('div', { class: 'audit-trail' })
    return h('section', { class: 'card person-card', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, personName(person)),
      ppas.length
        ? h('ul', { class: 'audit-ppas' }, ppas.map((ppa) => h('li', {}, ppaBlock(ppa))))
        : h('p', {}, 'Aucun PPA validé pour le moment : les brouillons ne sont pas visibles en audit.'),
      h('button', {
        type: 'button',
        class: 'btn btn--ghost',
        'aria-expanded': 'false',
        on: {
          click: async (event) => {
            const button = event.currentTarget
            if (button.getAttribute('aria-expanded') === 'true') { replace(trail); button.setAttribute('aria-expanded', 'false'); return }
            button.setAttribute('aria-expanded', 'true')
            replace(trail, h('p', { role: 'status' }, 'Chargement du journal…'))
            try {
              const events = await api(`/api/persons/${encodeURIComponent(person.id)}/audit`)
              replace(trail, trailTable(person, events.slice(-50).reverse()))
            } catch (error) {
              replace(trail, h('p', { class: 'form-error', role: 'alert' }, error.message))
            }
          }
        }
      }, 'Journal des accès (50 derniers)'),
      trail)
  }

  function trailTable (person, events) {
    return h('table', { class: 'table' },
      h('caption', {}, `Accès au dossier de ${personName(person)}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Quand'), h('th', { scope: 'col' }, 'Action'), h('th', { scope: 'col' }, 'Rôle'), h('th', { scope: 'col' }, 'Résultat'))),
      h('tbody', {}, events.map((e) => h('tr', {},
        h('td', {}, formatDateTime(e.created_at || e.at)),
        h('td', {}, e.action),
        h('td', {}, e.role || '—'),
        h('td', {}, e.outcome || '—')))))
  }

  function ppaBlock (ppa) {
    const historyBox = h('div', { class: 'audit-history' })
    const message = h('p', { class: 'muted', role: 'status' })
    const headingId = `audit-ppa-${ppa.id}`
    return h('article', { class: 'audit-ppa', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, h('a', { href: `#/ppa/${encodeURIComponent(ppa.id)}`, class: 'ppa-link' }, ppa.title || 'PPA sans titre'), ' ',
        h('span', { class: `badge badge--${ppa.status}` }, PPA_STATUS_LABELS[ppa.status] || ppa.status)),
      h('div', { class: 'history-buttons' },
        h('button', {
          type: 'button',
          class: 'btn',
          'aria-expanded': 'false',
          on: {
            click: async (event) => {
              const button = event.currentTarget
              if (button.getAttribute('aria-expanded') === 'true') { replace(historyBox); button.setAttribute('aria-expanded', 'false'); return }
              button.setAttribute('aria-expanded', 'true')
              replace(historyBox, h('p', { role: 'status' }, 'Vérification de l\'historique…'))
              try {
                replace(historyBox, historyView(await api(`/api/ppas/${encodeURIComponent(ppa.id)}/history`)))
              } catch (error) {
                replace(historyBox, h('p', { class: 'form-error', role: 'alert' }, error.message))
              }
            }
          }
        }, 'Historique vérifié'),
        h('button', {
          type: 'button',
          class: 'btn',
          on: {
            click: async () => {
              message.textContent = 'Préparation du dossier d\'audit…'
              try {
                const name = await download(`/api/ppas/${encodeURIComponent(ppa.id)}/audit-bundle`, `audit-ppa-${ppa.id}.zip`)
                message.textContent = `Téléchargé : ${name}`
              } catch (error) {
                message.textContent = error.message
              }
            }
          }
        }, 'Télécharger le dossier d\'audit')),
      message,
      historyBox)
  }

  function historyView (history) {
    const chain = history.chain
    return h('div', {},
      h('p', { class: chain.ok ? 'notice notice--ok' : 'notice notice--warning' },
        chain.ok
          ? `Chaîne des versions vérifiée : ${chain.checked} version${chain.checked > 1 ? 's' : ''}, aucune altération.`
          : `Chaîne rompue à la version ${chain.broken_number} : ${chain.reason || ''}`),
      h('table', { class: 'table' },
        h('caption', { class: 'sr-only' }, 'Versions du PPA'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col' }, 'Date'), h('th', { scope: 'col' }, 'Par'), h('th', { scope: 'col' }, 'Accords'))),
        h('tbody', {}, history.versions.map((v) => h('tr', {},
          h('th', { scope: 'row' }, `v${v.number} · ${VERSION_KIND_LABELS[v.kind] || v.kind}`),
          h('td', {}, formatDateTime(v.created_at)),
          h('td', {}, v.created_by_name || v.created_by),
          h('td', {}, v.accords.length
            ? h('ul', { class: 'plain' }, v.accords.map((a) => h('li', {},
              `${ACCORD_TYPE_LABELS[a.type] || a.type} : ${ACCORD_MODE_LABELS[a.mode] || a.mode}, ${a.par}${a.date ? `, le ${formatDate(a.date)}` : ''}`)))
            : '—'))))))
  }

  return () => controller.abort()
}
