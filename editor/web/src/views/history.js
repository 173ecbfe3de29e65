// History, validation and exports panel (versions API, exports API):
// versions list (kind, number, authors, date, hash), open a version, diff between two, save a
// named version, validate (structure's and person's agreements), avenant, restore, revision,
// downloads in every export format.
import { api, ApiError, download } from '../api.js'
import { getMe } from '../auth.js'
import { confirmDialog, openDialog } from '../dialog.js'
import { announce, formatDate, formatDateTime, h, replace, uid } from '../dom.js'
import {
  ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS, EXPORT_FORMATS, MEASURE_LABELS, PPA_STATUS_LABELS, PROBLEM_SEVERITY_LABELS, VERSION_KIND_LABELS,
  personName
} from '../labels.js'
import { indexOfId, reinsertItem } from '../model.js'
import { bySeverity } from '../problems.js'
import { renderContent } from './content.js'
import { transmissionsBlock } from './transmissions.js'

const VALIDATED_KINDS = new Set(['validated', 'avenant'])

export function formatsFor (version) {
  const validated = VALIDATED_KINDS.has(version.kind)
  return EXPORT_FORMATS.filter((format) => {
    if (format.avenant_only) return version.kind === 'avenant'
    return format.drafts_allowed || validated
  })
}

function shortHash (hash) {
  return hash ? `${hash.slice(0, 12)}…` : ''
}

function authorsOf (version) {
  const names = version.authors.map((a) => version.author_names[a] || null).filter(Boolean)
  return names.length ? names.join(', ') : (version.created_by_name || '')
}

/** "v4 · Version validée n°1 — label": the validated series' rank once, and a label only when
 * it says more than the kind (the server's "v1 - version validée" repeats it). */
export function versionTitle (version) {
  const kind = `v${version.number} · ${VERSION_KIND_LABELS[version.kind] || version.kind}`
  const rank = version.kind === 'validated' ? version.series_rank : version.kind === 'avenant' ? version.avenant_number : null
  const redundant = version.kind === 'validated' && /^v\d+ - version validée$/.test(version.label || '')
  return {
    kind: rank ? `${kind} n°${rank}` : kind,
    label: version.label && !redundant ? version.label : ''
  }
}

const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' })

export function mountHistory (root, { ppaId, getPpa, role, person, ctx, onPpaChanged, reload }) {
  const canEdit = role === 'coordinator' || role === 'contributor'
  const canValidate = role === 'coordinator'
  const isAuditor = role === 'auditor'
  const heading = h('h2', { tabindex: '-1' }, 'Historique, validation et exports')
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' })
  const actions = h('div', { class: 'history-actions' })
  const compare = h('form', { class: 'compare' })
  const list = h('ol', { class: 'versions', reversed: true, 'aria-label': 'Versions' })
  const diffRegion = h('section', { class: 'diff', 'aria-live': 'polite', hidden: true, 'aria-label': 'Différences' })
  root.append(heading, status, actions,
    h('h3', {}, 'Versions'), compare, diffRegion, list)
  let versions = []
  // Export menus the user opened stay open when the list repaints (a lock notice or a
  // validation refreshes it while the user may be choosing a format).
  const openMenus = new Set()
  /** Versions whose transmissions block is unfolded (an avenant just validated: the fiche). */
  const openTransmissions = new Set()
  let refreshSeq = 0

  function setStatus (text) {
    status.textContent = text
  }

  async function run (label, fn) {
    setStatus(`${label}…`)
    try {
      const result = await fn()
      return result
    } catch (error) {
      setStatus(error instanceof ApiError ? error.message : `${label} : échec.`)
      throw error
    }
  }

  function paintActions () {
    const ppa = getPpa()
    const locked = ppa.locked || ppa.status === 'validated' || ppa.status === 'superseded'
    const hasValidated = versions.some((v) => VALIDATED_KINDS.has(v.kind))
    const buttons = []
    if (canEdit && !locked) {
      const labelId = uid('vlabel')
      const input = h('input', { id: labelId, type: 'text', maxlength: '200', required: true, placeholder: 'ex. Après la réunion de synthèse' })
      buttons.push(h('form', {
        class: 'named-version',
        on: {
          submit: async (event) => {
            event.preventDefault()
            const label = input.value.trim()
            if (!label) { input.focus(); return }
            if (!(await ctx.session.whenFlushed(8000))) {
              setStatus("Vos dernières modifications ne sont pas encore enregistrées sur le serveur (hors ligne ?) : réessayez une fois « Enregistré » affiché.")
              return
            }
            const version = await run('Enregistrement de la version', () => api(`/api/ppas/${encodeURIComponent(ppaId)}/versions`, { method: 'POST', json: { label } }))
            input.value = ''
            setStatus(`Version ${version.number} enregistrée : « ${version.label} ».`)
            await refresh()
          }
        }
      }, h('label', { for: labelId }, 'Nom de la version'), h('div', { class: 'inline-actions' }, input, h('button', { type: 'submit', class: 'btn' }, 'Enregistrer une version'))))
    }
    if (canValidate && !locked && (ppa.status === 'draft' || ppa.status === 'avenant_draft')) {
      buttons.push(h('button', { type: 'button', class: 'btn btn--primary', on: { click: () => openValidation() } },
        ppa.status === 'avenant_draft' ? "Valider l'avenant" : 'Valider le PPA'))
    }
    if (canValidate && ppa.status === 'validated') {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn',
        on: {
          click: async () => {
            await run("Ouverture de l'avenant", () => api(`/api/ppas/${encodeURIComponent(ppaId)}/avenant`, { method: 'POST' }))
            reload("Avenant ouvert : modifiez les actions, leurs modalités et le planning, puis validez l'avenant. Les objectifs et les besoins ne changent pas.")
          }
        }
      }, 'Ouvrir un avenant'))
    }
    if (canValidate && ppa.status === 'avenant_draft') {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn btn--ghost btn--danger-text',
        on: {
          click: async () => {
            if (!(await confirmAbandon())) return
            await run("Abandon de l'avenant", () => api(`/api/ppas/${encodeURIComponent(ppaId)}/avenant/abandon`, { method: 'POST' }))
            reload("Avenant abandonné : le PPA validé reste en vigueur.")
          }
        }
      }, "Abandonner l'avenant"))
    }
    if (canEdit && hasValidated && ppa.status !== 'superseded') {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn',
        on: {
          click: async () => {
            const created = await run('Création de la révision', () => api(`/api/ppas/${encodeURIComponent(ppaId)}/revisions`, { method: 'POST' }))
            sessionStorage.setItem(`ppa.notice.${created.ppa_id}`, 'Révision démarrée : un nouveau PPA a été créé à partir de la dernière version validée.')
            location.hash = `#/ppa/${encodeURIComponent(created.ppa_id)}`
          }
        }
      }, 'Démarrer une révision (nouveau PPA)'))
    }
    if (isAuditor) {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn',
        on: {
          click: async () => {
            const name = await run("Préparation du dossier d'audit", () => download(`/api/ppas/${encodeURIComponent(ppaId)}/audit-bundle`, `audit-ppa-${ppaId}.zip`))
            setStatus(`Téléchargé : ${name}`)
          }
        }
      }, "Télécharger le dossier d'audit"))
    }
    replace(actions,
      h('p', {}, 'État : ', h('strong', {}, PPA_STATUS_LABELS[ppa.status] || ppa.status), ppa.locked ? ' (verrouillé)' : ''),
      buttons.length ? h('div', { class: 'history-buttons' }, buttons) : null)
  }

  // Abandoning an avenant takes its changes out of the live document (the draft stays in the
  // history as a checkpoint): the question names each change and who wrote it.
  async function confirmAbandon () {
    const pending = await run("Vérification de l'avenant en cours", () => api(`/api/ppas/${encodeURIComponent(ppaId)}/avenant/pending`))
    setStatus('')
    const names = (authors) => [...new Set(authors.map((a) => a.name || a.author))]
    const everyone = names(pending.items.flatMap((item) => item.authors))
    const base = `la version validée v${pending.base_version.number}`
    const n = pending.items.length
    const message = n
      ? `Abandonner l'avenant retire du document ${n === 1 ? 'la modification faite' : `les ${n} modifications faites`} depuis ${base}${everyone.length ? `, écrites par ${everyone.join(', ')}` : ''}. Le document revient à ${base} ; le brouillon de l'avenant reste consultable dans l'historique.`
      : `Aucune modification depuis ${base} : le document reste tel qu'il a été validé.`
    const details = n
      ? h('ul', { class: 'lost-changes' }, pending.items.map((item) => {
        const by = names(item.authors)
        return h('li', {}, item.description, by.length ? h('span', { class: 'muted' }, ` — par ${by.join(', ')}`) : null)
      }))
      : null
    return confirmDialog(message, { title: "Abandonner l'avenant ?", confirmLabel: "Abandonner l'avenant", danger: true, details })
  }

  function paintCompare () {
    if (versions.length < 2) { replace(compare); return }
    const options = () => versions.slice().reverse().map((v) => {
      const title = versionTitle(v)
      return h('option', { value: String(v.number) }, `${title.kind}${title.label ? ` · ${title.label}` : ''}`)
    })
    const fromId = uid('from')
    const toId = uid('to')
    // a refresh keeps what the user chose
    const previous = [compare.querySelector('select'), compare.querySelectorAll('select')[1]].map((el) => el?.value)
    const from = h('select', { id: fromId }, options())
    const to = h('select', { id: toId }, options())
    const known = (v) => v && versions.some((x) => String(x.number) === v)
    from.value = known(previous[0]) ? previous[0] : String(versions[versions.length - 2].number)
    to.value = known(previous[1]) ? previous[1] : String(versions[versions.length - 1].number)
    replace(compare,
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: fromId }, 'Comparer la version'), from),
        h('div', { class: 'field' }, h('label', { for: toId }, 'avec la version'), to)),
      h('button', { type: 'submit', class: 'btn' }, 'Afficher les différences'))
    compare.onsubmit = (event) => {
      event.preventDefault()
      showDiff(Number(from.value), Number(to.value))
    }
  }

  function paintList () {
    replace(list, versions.slice().reverse().map((v) => {
      const exportsId = uid('exp')
      const title = versionTitle(v)
      return h('li', { class: 'version', dataset: { number: String(v.number), kind: v.kind } },
        h('p', { class: 'version__title' }, h('strong', {}, title.kind), title.label ? ` — ${title.label}` : ''),
        h('p', { class: 'version__meta' },
          formatDateTime(v.created_at), authorsOf(v) ? ` · ${authorsOf(v)}` : '',
          v.next_review ? ` · prochaine révision : ${formatDate(v.next_review)}` : ''),
        v.summary ? h('p', { class: 'version__meta' }, v.summary) : null,
        h('p', { class: 'version__meta' }, 'Empreinte : ',
          h('code', { class: 'hash', title: v.content_hash }, shortHash(v.content_hash)),
          h('span', { class: 'sr-only' }, ` (complète : ${v.content_hash})`)),
        h('div', { class: 'inline-actions' },
          h('button', { type: 'button', class: 'btn btn--small', on: { click: () => openVersion(v.number) } }, `Ouvrir v${v.number}`),
          canEdit && getPpa().status !== 'superseded'
            ? h('button', { type: 'button', class: 'btn btn--small', on: { click: () => restore(v) } }, `Restaurer v${v.number} comme nouveau brouillon`)
            : null),
        h('details', {
          class: 'exports-menu',
          open: openMenus.has(v.number),
          on: { toggle: (event) => { if (event.target.open) openMenus.add(v.number); else openMenus.delete(v.number) } }
        },
          h('summary', { id: exportsId }, `Télécharger v${v.number}`),
          h('ul', { class: 'exports', 'aria-labelledby': exportsId }, formatsFor(v).map(({ name, label }) => h('li', {},
            h('button', {
              type: 'button',
              class: 'btn btn--small',
              dataset: { format: name },
              on: {
                click: async () => {
                  const file = await run(`Préparation de « ${label} »`, () => download(`/api/ppas/${encodeURIComponent(ppaId)}/versions/${v.number}/exports/${name}`, `ppa-v${v.number}-${name}`))
                  setStatus(`Téléchargé : ${file}`)
                }
              }
            }, label))))),
        VALIDATED_KINDS.has(v.kind) && role !== 'esms'
          ? transmissionsBlock({
            ppaId,
            personId: getPpa().person_id,
            version: v,
            canTransmit: canValidate,
            run,
            setStatus,
            open: openTransmissions.has(v.number),
            onToggle: (open) => { if (open) openTransmissions.add(v.number); else openTransmissions.delete(v.number) }
          })
          : null)
    }))
  }

  async function refresh () {
    // Refreshes may overlap (lock notice, validation, panel reopened): only the latest
    // request paints, so an older answer never replaces a newer list.
    const seq = ++refreshSeq
    let next
    try {
      next = await api(`/api/ppas/${encodeURIComponent(ppaId)}/versions`)
    } catch (error) {
      if (seq !== refreshSeq) return
      next = []
      setStatus(error instanceof ApiError ? error.message : 'Historique indisponible.')
    }
    if (seq !== refreshSeq) return
    versions = next
    keepFocus(() => {
      paintActions()
      paintCompare()
      paintList()
      if (!versions.length) list.append(h('li', { class: 'muted' }, 'Aucune version pour le moment.'))
    })
  }

  // A repaint replaces the panel's controls: a keyboard user's focus stays on the same control
  // (same text, version and format) or, when it is gone (a validation removes the buttons that
  // change the document), on the panel's heading; it is never dropped to the top of the page.
  const focusSignature = (el) => [el.tagName, el.closest('.version')?.dataset.number || '',
    el.dataset.format || '', el.tagName === 'INPUT' ? (el.labels?.[0]?.textContent || '') : el.textContent].join('|')
  function keepFocus (paint) {
    const active = document.activeElement
    const inside = active && active !== heading && root.contains(active)
    const signature = inside ? focusSignature(active) : null
    paint()
    if (!inside || document.contains(active)) return
    const same = [...root.querySelectorAll('button, summary, input, select, textarea, a[href]')]
      .find((el) => focusSignature(el) === signature)
    ;(same || heading).focus()
  }

  async function openVersion (number) {
    const version = await run(`Chargement de la version ${number}`, () => api(`/api/ppas/${encodeURIComponent(ppaId)}/versions/${number}`))
    setStatus('')
    openDialog({
      title: `Version ${number} · ${VERSION_KIND_LABELS[version.kind] || version.kind}`,
      className: 'dialog--wide',
      describe: `${version.label || ''} ${formatDateTime(version.created_at)} · empreinte ${version.content_hash}`,
      build: (close) => h('div', {},
        version.accords.length
          ? h('div', {}, h('h3', {}, 'Accords recueillis'), h('ul', {}, version.accords.map((a) => h('li', {},
            `${ACCORD_TYPE_LABELS[a.type] || a.type} : ${ACCORD_MODE_LABELS[a.mode] || a.mode}`,
            a.par ? `, par ${a.par}` : '', a.temoin ? `, témoin : ${a.temoin}` : '', a.date ? `, le ${formatDate(a.date)}` : '',
            a.motif ? ` — motif : ${a.motif}` : ''))))
          : null,
        renderContent(version.content, ctx),
        h('div', { class: 'dialog__actions' }, h('button', { type: 'button', class: 'btn', autofocus: true, on: { click: () => close() } }, 'Fermer')))
    })
  }

  async function showDiff (from, to) {
    const diff = await run('Calcul des différences', () => api(`/api/ppas/${encodeURIComponent(ppaId)}/diff?from=${from}&to=${to}`))
    setStatus('')
    const segments = (field) => field.segments.length
      ? h('p', { class: 'diff-text' }, field.segments.map((s) => s.op === 'insert'
        ? h('ins', { class: 'diff-added' }, s.text)
        : s.op === 'delete' ? h('del', { class: 'diff-removed' }, s.text) : s.text))
      : h('p', {},
        h('del', { class: 'diff-removed' }, (field.old_labels.length ? field.old_labels : [field.old ?? '—']).map(String).join(', ')),
        ' → ',
        h('ins', { class: 'diff-added' }, (field.new_labels.length ? field.new_labels : [field.new ?? '—']).map(String).join(', ')))
    const who = (authors) => authors.length ? h('span', { class: 'muted' }, ` — par ${authors.map((a) => a.name || a.author).join(', ')}`) : null
    diffRegion.hidden = false
    replace(diffRegion,
      h('h3', { tabindex: '-1' }, `Différences v${from} → v${to}`),
      h('p', {}, diff.summary),
      diff.items.length === 0
        ? h('p', { class: 'muted' }, 'Aucune différence.')
        : h('ul', { class: 'diff-list' }, diff.items.map((item) => h('li', { class: `diff-item diff-item--${item.kind}` },
          h('p', {}, h('strong', {}, item.description), who(item.authors)),
          putBackButton(item, from),
          item.fields.length
            ? h('ul', {}, item.fields.map((f) => h('li', {}, h('span', { class: 'diff-label' }, `${f.label.charAt(0).toUpperCase()}${f.label.slice(1)} : `), segments(f), who(f.authors))))
            : null))),
      h('button', { type: 'button', class: 'btn btn--small', on: { click: () => { diffRegion.hidden = true; replace(diffRegion) } } }, 'Fermer la comparaison'))
    diffRegion.querySelector('h3').focus()
    announce(diff.summary)
  }

  // A deleted item comes back from the history on its own (issue 17), as version `from` held
  // it, without restoring the whole version: offered on an item the diff shows removed, when
  // its section may take items and it is not in the document again.
  const PUT_BACK = new Set(['attentes', 'besoins', 'objectifs', 'actions', 'moyens'])
  function putBackButton (item, from) {
    if (item.kind !== 'removed' || !item.item_id || !PUT_BACK.has(item.section)) return null
    if (!ctx.canStructureOf?.(item.section) || indexOfId(ctx.doc.getArray(item.section), item.item_id) >= 0) return null
    const title = item.title.length > 60 ? `${item.title.slice(0, 59)}…` : item.title
    const button = h('button', { type: 'button', class: 'btn btn--small' }, `Remettre « ${title || item.description} » dans le brouillon`)
    button.addEventListener('click', async () => {
      const version = await run(`Chargement de la version ${from}`, () => api(`/api/ppas/${encodeURIComponent(ppaId)}/versions/${from}`))
      const old = (version.content[item.section] || []).find((x) => x.id === item.item_id)
      if (!old || !ctx.stillWritable()) { setStatus('Impossible de remettre cet élément : le document ne le permet plus.'); return }
      const done = reinsertItem(ctx.doc, item.section, old, version.content)
      setStatus('')
      const said = h('span', { class: 'put-back-done', tabindex: '-1' }, done ? `« ${title || item.description} » est de nouveau dans le brouillon.` : 'Cet élément est déjà dans le brouillon.')
      button.replaceWith(said)
      said.focus()
    })
    return h('p', {}, button)
  }

  // Restoring into an editable PPA overwrites the live draft for everyone (the draft is kept as
  // a checkpoint): the question names each change taken out and who wrote it. A locked PPA's
  // restore is a new draft PPA and takes nothing out: no question.
  async function confirmRestore (version) {
    const url = `/api/ppas/${encodeURIComponent(ppaId)}/versions/${version.number}/restore/preview`
    const preview = await run(`Vérification avant restauration de la version ${version.number}`, () => api(url))
    setStatus('')
    const names = (authors) => [...new Set(authors.map((a) => a.name || a.author))]
    const everyone = names(preview.items.flatMap((item) => item.authors))
    const n = preview.items.length
    const message = n
      ? `Restaurer la v${version.number} retire du document, pour tout le monde, ${n === 1 ? 'la modification faite' : `les ${n} modifications faites`} depuis cette version${everyone.length ? `, écrites par ${everyone.join(', ')}` : ''}. Le brouillon actuel reste consultable dans l'historique (point de sauvegarde).`
      : `Le brouillon n'a pas changé depuis la v${version.number} : rien ne sera retiré du document.`
    const details = n
      ? h('ul', { class: 'lost-changes' }, preview.items.map((item) => {
        const by = names(item.authors)
        return h('li', {}, item.description, by.length ? h('span', { class: 'muted' }, ` — par ${by.join(', ')}`) : null)
      }))
      : null
    return confirmDialog(message, { title: `Restaurer la version ${version.number} ?`, confirmLabel: `Restaurer la v${version.number}`, danger: n > 0, details })
  }

  async function restore (version) {
    const ppa = getPpa()
    const locked = ppa.locked || ppa.status === 'validated' || ppa.status === 'superseded'
    if (!locked && !(await confirmRestore(version))) return
    const result = await run(`Restauration de la version ${version.number}`, () => api(`/api/ppas/${encodeURIComponent(ppaId)}/versions/${version.number}/restore`, { method: 'POST' }))
    if (result.new_ppa) {
      sessionStorage.setItem(`ppa.notice.${result.ppa_id}`, `Version ${version.number} restaurée comme nouveau brouillon (nouveau PPA, le PPA validé reste inchangé).`)
      location.hash = `#/ppa/${encodeURIComponent(result.ppa_id)}`
      return
    }
    setStatus(`Version ${version.number} restaurée : le brouillon reprend son contenu (nouvelle version ${result.version.number}).`)
    await refresh()
  }

  function openValidation () {
    const ppa = getPpa()
    const me = getMe()
    const avenant = ppa.status === 'avenant_draft'
    openDialog({
      title: avenant ? "Valider l'avenant" : 'Valider le PPA',
      className: 'dialog--wide',
      describe: 'La version validée sera figée pour toujours : plus personne ne pourra la modifier, et le document passera en lecture seule pour tous.',
      build: (close) => {
        const problems = h('div', { class: 'validation-problems' })
        // Blocking problems disable the button (the server refuses them anyway: 409); those
        // "à vérifier" are shown and do not block.
        let checked = false
        const showProblems = (list) => {
          checked = true
          const { blocking, warnings } = bySeverity(list)
          submit.disabled = blocking.length > 0
          // a disabled button says why (its accessible description, and shown beside it)
          reason.textContent = blocking.length
            ? `Validation impossible tant que ${blocking.length === 1 ? 'le point bloquant ci-dessus reste' : `les ${blocking.length} points bloquants ci-dessus restent`} à corriger.`
            : ''
          replace(problems,
            blocking.length
              ? h('div', { class: 'warning blocking', role: 'alert', dataset: { severity: 'bloquant' } },
                h('p', {}, h('strong', {}, `${blocking.length} point${blocking.length > 1 ? 's' : ''} bloquant${blocking.length > 1 ? 's' : ''} à corriger avant de valider :`)),
                h('ul', {}, blocking.map((p) => h('li', {}, p.message))))
              : null,
            warnings.length
              ? h('div', { class: 'warning', dataset: { severity: 'a_verifier' } },
                h('p', {}, h('strong', {}, `${PROBLEM_SEVERITY_LABELS.a_verifier} (ne bloque pas la validation) :`)),
                h('ul', {}, warnings.map((p) => h('li', {}, p.message))))
              : null)
        }
        const field = (label, control, extra = {}) => h('div', { class: 'field', ...extra }, h('label', { for: control.id }, label), control)
        const radios = (name, legend, choices, value) => {
          const group = h('fieldset', { class: 'segmented' }, h('legend', {}, legend))
          for (const [v, label] of choices) {
            const id = uid(name)
            group.append(h('span', { class: 'segmented__item' }, h('input', { type: 'radio', name, id, value: v, checked: v === value }), h('label', { for: id }, label)))
          }
          return group
        }
        const value = (form, name) => form.querySelector(`input[name="${name}"]:checked`)?.value
        const sPar = h('input', { id: uid('spar'), type: 'text', value: me?.display_name || '', required: true, autocomplete: 'name' })
        const sTemoin = h('input', { id: uid('stem'), type: 'text' })
        const sDate = h('input', { id: uid('sdate'), type: 'date', value: today() })
        const pPar = h('input', { id: uid('ppar'), type: 'text', value: person ? personName(person) : '' })
        const pTemoin = h('input', { id: uid('ptem'), type: 'text' })
        const pDate = h('input', { id: uid('pdate'), type: 'date', value: today() })
        const pMotif = h('textarea', { id: uid('pmot'), rows: '2' })
        const error = h('div', { class: 'form-error', role: 'alert' })
        const reason = h('p', { id: uid('why'), class: 'submit-reason', role: 'status' }, 'Vérification des points à corriger…')
        // disabled until the problems are known; the server refuses blocking ones anyway (409)
        const submit = h('button', { type: 'submit', class: 'btn btn--primary', disabled: true, 'aria-describedby': reason.id }, avenant ? "Valider définitivement l'avenant" : 'Valider définitivement')
        api(`/api/ppas/${encodeURIComponent(ppaId)}/problems`).then(showProblems).catch(() => {
          if (checked) return
          submit.disabled = false
          reason.textContent = ''
        })
        // the problems change while the dialog is open (a colleague completes the PPA)
        const stopWatching = ctx.problems.onChange((list) => { if (document.contains(form)) showProblems(list); else stopWatching() })
        // The legal representative's agreement (rule 3): shown when the cercle holds one.
        const rMember = h('select', { id: uid('rmem') })
        const rTemoin = h('input', { id: uid('rtem'), type: 'text' })
        const rDate = h('input', { id: uid('rdate'), type: 'date', value: today() })
        const rMotif = h('textarea', { id: uid('rmot'), rows: '2' })
        const rName = uid('rmode')
        const rWrap = h('fieldset', { class: 'accord', hidden: true }, h('legend', {}, ACCORD_TYPE_LABELS.representant),
          field('Représentant légal (membre du cercle)', rMember),
          radios(rName, 'Mode', Object.entries(ACCORD_MODE_LABELS), 'signe'),
          field('Témoin (accord oral du représentant)', rTemoin),
          field('Motif du représentant (refus ou accord non sollicité)', rMotif),
          field("Date de l'accord du représentant", rDate))
        if (person) {
          api(`/api/persons/${encodeURIComponent(person.id)}/cercle`).then((members) => {
            const reps = members.filter((m) => m.kind === 'legal_representative' && !m.opposed)
            if (!reps.length) return
            replace(rMember, h('option', { value: '' }, '— choisir —'),
              ...reps.map((m) => h('option', { value: m.id }, m.mesure ? `${m.display_name} (${MEASURE_LABELS[m.mesure] || m.mesure})` : m.display_name)))
            rMember.value = reps[0].id
            rWrap.hidden = false
          }).catch(() => {})
        }
        const sName = uid('smode')
        const pName = uid('pmode')
        // the person's agreement given online on this very draft (by her, or her aidant for her)
        const onlineId = uid('online')
        const useOnline = h('input', { type: 'checkbox', id: onlineId })
        const onlineLabel = h('label', { for: onlineId })
        const onlineBox = h('div', { class: 'field field--inline', hidden: true }, useOnline, onlineLabel)
        api(`/api/ppas/${encodeURIComponent(ppaId)}/person-agreement`).then(({ agreement }) => {
          if (!agreement?.current) return
          onlineLabel.textContent = `Utiliser sa réponse donnée en ligne : ${agreement.accord ? 'accord' : 'refus'} de ${agreement.par}, le ${formatDateTime(agreement.given_at)}`
          useOnline.checked = true
          onlineBox.hidden = false
        }).catch(() => {})
        const form = h('form', {},
          problems,
          h('fieldset', { class: 'accord' }, h('legend', {}, `${ACCORD_TYPE_LABELS.structure} (obligatoire)`),
            field('Donné par', sPar),
            radios(sName, 'Mode', [['signe', ACCORD_MODE_LABELS.signe], ['oral', ACCORD_MODE_LABELS.oral]], 'signe'),
            field('Témoin (accord oral)', sTemoin),
            field('Date', sDate)),
          h('fieldset', { class: 'accord' }, h('legend', {}, `${ACCORD_TYPE_LABELS.personne} (obligatoire)`),
            onlineBox,
            radios(pName, 'Mode', Object.entries(ACCORD_MODE_LABELS), 'signe'),
            field('Donné (ou refusé) par', pPar),
            field('Témoin (accord oral)', pTemoin),
            field('Motif (refus ou accord non sollicité)', pMotif),
            field('Date', pDate)),
          rWrap,
          error,
          reason,
          h('div', { class: 'dialog__actions' },
            h('button', { type: 'button', class: 'btn', on: { click: () => close(null) } }, 'Annuler'),
            submit))
        form.addEventListener('submit', async (event) => {
          event.preventDefault()
          error.textContent = ''
          const sMode = value(form, sName)
          const online = useOnline.checked && !onlineBox.hidden
          const pMode = online ? null : value(form, pName)
          const messages = []
          if (!sPar.value.trim()) messages.push("Indiquez qui donne l'accord de la structure.")
          if (sMode === 'oral' && !sTemoin.value.trim()) messages.push("Un accord oral de la structure demande un témoin.")
          if (pMode && pMode !== 'non_sollicite' && !pPar.value.trim()) messages.push("Indiquez qui a donné (ou refusé) l'accord de la personne.")
          if (pMode === 'oral' && !pTemoin.value.trim()) messages.push("Un accord oral de la personne demande un témoin.")
          if ((pMode === 'refuse' || pMode === 'non_sollicite') && !pMotif.value.trim()) messages.push('Indiquez le motif du refus ou de l\'accord non sollicité.')
          const rMode = value(form, rName)
          if (rMember.value && rMode === 'oral' && !rTemoin.value.trim()) messages.push('Un accord oral du représentant légal demande un témoin.')
          if (rMember.value && (rMode === 'refuse' || rMode === 'non_sollicite') && !rMotif.value.trim()) messages.push('Indiquez le motif du refus ou de l\'accord non sollicité du représentant légal.')
          if (messages.length) {
            replace(error, h('ul', {}, messages.map((m) => h('li', {}, m))))
            return
          }
          const body = {
            structure: { par: sPar.value.trim(), mode: sMode, temoin: sTemoin.value.trim(), date: sDate.value || null },
            personne: pMode
              ? { mode: pMode, par: pPar.value.trim(), temoin: pTemoin.value.trim(), motif: pMotif.value.trim(), date: pDate.value || null }
              : null,
            representant: rMember.value
              ? { membre_id: rMember.value, mode: rMode, temoin: rTemoin.value.trim(), motif: rMotif.value.trim(), date: rDate.value || null }
              : null
          }
          submit.disabled = true
          try {
            if (!(await ctx.session.whenFlushed(8000))) {
              submit.disabled = false
              error.textContent = "Vos dernières modifications ne sont pas encore enregistrées sur le serveur (hors ligne ?) : réessayez une fois « Enregistré » affiché."
              return
            }
            const version = await api(`/api/ppas/${encodeURIComponent(ppaId)}/validate`, { method: 'POST', json: body })
            close(version)
            // Use case 3: the avenant's transmissions unfold, offering the fiche de liaison.
            if (avenant) openTransmissions.add(version.number)
            try { onPpaChanged(await api(`/api/ppas/${encodeURIComponent(ppaId)}`)) } catch { /* the lock message updates the page anyway */ }
            await refresh()
            setStatus(`${avenant ? VERSION_KIND_LABELS.avenant : 'PPA validé'} : version ${version.number}, figée (empreinte ${shortHash(version.content_hash)}).` +
              (avenant ? ` Si les modalités changent durablement, envoyez la fiche de liaison à la MDPH (« Transmissions v${version.number} »).` : ''))
            announce(status.textContent)
          } catch (err) {
            submit.disabled = false
            if (err instanceof ApiError && err.code === 'ValidationRefused' && err.problems.length) {
              showProblems(err.problems)
              replace(error, h('p', {}, 'Validation refusée : corrigez les points bloquants ci-dessus.'))
            } else if (err instanceof ApiError) {
              replace(error, h('p', {}, err.status === 422 && err.problems.length ? 'Validation refusée :' : err.message),
                err.problems.length ? h('ul', {}, err.problems.map((p) => h('li', {}, p.message))) : null)
            } else {
              error.textContent = 'Validation impossible.'
            }
          }
        })
        return form
      }
    })
  }

  refresh()
  return { refresh, openVersion, showDiff }
}
