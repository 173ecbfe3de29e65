// The structured PPA form: one section per part of the content model, bound to the Yjs doc.
import * as Y from 'yjs'
import { announce, debounce, formatDate, h, uid, replace } from '../dom.js'
import { confirmDialog } from '../dialog.js'
import {
  ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS, FREQUENCE_LABELS, FREQUENCE_UNITS, JOURS, ORIGINE_LABELS,
  PROJET_TYPE_LABELS, STATUT_ACTION_LABELS, STATUT_OBJECTIF_LABELS, TYPE_MOYEN_LABELS
} from '../labels.js'
import {
  addAction, addAttente, addBesoin, addMoyen, addObjectif, deleteItem, newPlanning, setSingleBesoin, textOf
} from '../model.js'
import { pickSerafin } from '../serafin.js'
import { OWN_ORIGINS } from '../permissions.js'
import {
  arrayOf, checkboxesField, dateField, ensureArray, integerField, observe, observeKeys, selectField,
  stringField, textField
} from './fields.js'

/**
 * What the form needs from the editor page (views/editor.js builds it).
 * @typedef {object} FormContext
 * @property {Y.Doc} doc the live document
 * @property {ReturnType<typeof import('../collab/session.js').roots>} roots its roots
 * @property {import('../collab/session.js').CollabSession} session
 * @property {import('../collab/presence.js').Presence} presence
 * @property {import('../problems.js').ProblemRegistry} problems
 * @property {import('../serafin.js').SerafinLabels} serafin labels of SERAFIN-PH codes
 * @property {() => import('./fields.js').Choices} memberOptions the professionals of the cercle
 * @property {(id: string) => string} memberName a member's name from any of their ids
 * @property {'edit' | 'own' | 'read'} mode what this user may change (permissions.js modeFor)
 * @property {string} ownOrigine the origine of the attentes a person or aidant adds
 * @property {(section: string) => boolean} canStructureOf may add and delete items of a section
 * @property {(fieldKey: string, item?: {origine?: string}) => boolean} canWrite may edit a field
 * @property {(section: string) => boolean} isFrozen read-only while an avenant is drafted
 * @property {() => boolean} stillWritable still writable after an await (a dialog)
 */

/** @typedef {import('./fields.js').Scope} Scope */

/** @param {Record<string, string>} labels @returns {Array<[string, string]>} */
const entries = (labels) => Object.entries(labels)

function excerpt (text, n = 70) {
  const one = text.replace(/\s+/g, ' ').trim()
  return one.length > n ? `${one.slice(0, n - 1)}…` : one
}

function section (id, title, intro, ...content) {
  const headingId = `${id}-title`
  return h('section', { class: 'ppa-section', id, 'aria-labelledby': headingId, tabindex: '-1' },
    h('h2', { id: headingId }, title),
    intro ? h('p', { class: 'section-intro' }, intro) : null,
    ...content)
}

/** Re-run `fn` (debounced) whenever anything in the given types changes. */
function subscribeDeep (types, ms = 150) {
  return (cb) => {
    const run = debounce(cb, ms)
    for (const t of types) t.observeDeep(run)
    return () => { run.cancel(); for (const t of types) t.unobserveDeep(run) }
  }
}

/**
 * Items of an array root as cards, kept in document order; each card has its own scope.
 * renderItem(ymap, scope, api) -> element; api.index() gives the current position.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {object} options
 * @param {Y.Array<any>} options.yarray
 * @param {(item: Y.Map<any>, scope: Scope, api: {index: () => number}) => HTMLElement} options.renderItem
 * @param {string} options.emptyText
 * @param {string} options.label accessible name of the list
 * @returns {HTMLElement}
 */
function itemList (ctx, scope, { yarray, renderItem, emptyText, label }) {
  const container = h('div', { class: 'items', role: 'list', 'aria-label': label })
  const empty = h('p', { class: 'muted empty' }, emptyText)
  const items = new Map()
  const paint = () => {
    const maps = yarray.toArray().filter((m) => m instanceof Y.Map)
    const keep = new Set(maps)
    for (const [m, it] of items) {
      if (!keep.has(m)) { it.scope.dispose(); it.el.remove(); items.delete(m) }
    }
    let prev = null
    maps.forEach((m, index) => {
      let it = items.get(m)
      if (!it) {
        const s = scope.child()
        it = { scope: s, index }
        it.el = renderItem(m, s, { index: () => it.index })
        it.el.setAttribute('role', 'listitem')
        items.set(m, it)
      }
      if (it.index !== index) { it.index = index; it.el.dispatchEvent(new CustomEvent('reindex')) }
      const expected = prev ? prev.nextSibling : container.firstChild
      if (expected !== it.el) container.insertBefore(it.el, expected)
      prev = it.el
    })
    empty.hidden = maps.length > 0
  }
  observe(scope, yarray, paint)
  paint()
  return h('div', {}, empty, container)
}

/** A card heading "Objectif 2 : titre", kept live. */
function cardHeading (scope, card, ymap, noun, api, titleKey = 'titre', tag = 'h3') {
  const id = uid('card')
  const heading = h(tag, { id, class: 'card__title' })
  const paint = () => {
    const title = titleKey ? textOf(ymap, titleKey) : ''
    heading.textContent = `${noun} ${api.index() + 1}${title.trim() ? ` : ${excerpt(title, 90)}` : ''}`
  }
  paint()
  card.addEventListener('reindex', paint)
  if (titleKey) {
    let inner = null
    const rebind = () => {
      if (inner) inner()
      const t = ymap.get(titleKey)
      inner = null
      if (t instanceof Y.Text) { t.observe(paint); inner = () => t.unobserve(paint) }
      paint()
    }
    rebind()
    observeKeys(scope, ymap, [titleKey], rebind)
    scope.add(() => inner && inner())
  }
  card.setAttribute('aria-labelledby', id)
  return heading
}

/**
 * @param {FormContext} ctx
 * @param {string} rootName
 * @param {Y.Map<any>} ymap the item
 * @param {string} noun announced when deleted ("Objectif supprimé.")
 * @param {string} what the item in the button and the question ("l'objectif")
 */
function deleteButton (ctx, rootName, ymap, noun, what) {
  return h('button', {
    type: 'button',
    class: 'btn btn--ghost btn--danger-text',
    on: {
      click: async (event) => {
        const button = event.currentTarget
        const label = textOf(ymap, 'titre') || textOf(ymap, 'description') || textOf(ymap, 'texte')
        const ok = await confirmDialog(`Supprimer ${what}${label ? ` « ${excerpt(label, 60)} »` : ''} ? Les autres participants le verront disparaître.`, { confirmLabel: 'Supprimer', danger: true })
        if (!ok || !ctx.stillWritable()) return
        const section = button.closest('.ppa-section')
        deleteItem(ctx.doc, rootName, ymap.get('id'))
        announce(`${noun} supprimé.`)
        section?.querySelector('.add-item')?.focus()
      }
    }
  }, `Supprimer ${what}`)
}

function addButton (label, onClick) {
  return h('button', { type: 'button', class: 'btn add-item', on: { click: onClick } }, h('span', { 'aria-hidden': 'true' }, '+ '), label)
}

/** Move the focus into the item just added (its first text field), so typing goes there. */
function focusNewItem (sectionEl, id) {
  const focus = () => {
    const card = sectionEl.querySelector(`[data-item-id="${CSS.escape(id)}"]`)
    const target = card?.querySelector('input[type="text"], textarea') || card?.querySelector('input, select, button')
    if (target) target.focus()
    return Boolean(target)
  }
  if (!focus()) requestAnimationFrame(focus)
}

/**
 * @param {FormContext} ctx
 * @param {string} sectionName
 */
function frozenNote (ctx, sectionName) {
  if (!ctx.isFrozen(sectionName)) return null
  const text = sectionName === 'objectifs'
    ? "Avenant en cours : un avenant peut mettre à jour le statut, l'avis de la personne et l'échéance d'un objectif, mais pas en ajouter, en supprimer ni en changer le contenu. Pour cela, démarrez une révision (nouveau PPA)."
    : 'Avenant en cours : un avenant ne modifie pas les besoins. Pour les changer, démarrez une révision (nouveau PPA).'
  return h('p', { class: 'notice' }, text)
}

function row (...children) {
  return h('div', { class: 'row' }, ...children)
}

// ------------------------------------------------------------------------------------------

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function projetSection (ctx, scope) {
  const projet = ctx.roots.projet
  const w = (k) => ctx.canWrite(`projet/${k}`)
  return section('projet', 'Projet', null,
    textField(ctx, scope, { ymap: projet, key: 'titre', fieldKey: 'projet/titre', label: 'Titre du projet', multiline: false, writable: w('titre') }),
    selectField(ctx, scope, {
      ymap: projet,
      key: 'type',
      fieldKey: 'projet/type',
      label: 'Type de projet',
      hint: 'Nomenclature TRE_R390 de l\'ANS.',
      options: entries(PROJET_TYPE_LABELS).map(([code, name]) => [code, `${name} (${code})`]),
      fallback: 'PPA',
      writable: w('type')
    }),
    row(
      dateField(ctx, scope, { ymap: projet, key: 'date_debut', fieldKey: 'projet/date_debut', label: 'Début de la période', writable: w('date_debut') }),
      dateField(ctx, scope, { ymap: projet, key: 'date_fin', fieldKey: 'projet/date_fin', label: 'Fin de la période', writable: w('date_fin') })
    ),
    textField(ctx, scope, {
      ymap: projet,
      key: 'modalite_communication',
      fieldKey: 'projet/modalite_communication',
      label: 'Modalité de communication à la personne',
      hint: 'Comment le projet a été présenté et expliqué à la personne (support, présence d\'un proche…).',
      writable: w('modalite_communication')
    })
  )
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function projetDeVieSection (ctx, scope) {
  return section('projet_de_vie', 'Projet de vie', 'Les aspirations de la personne, avec ses mots.',
    textField(ctx, scope, { ytext: ctx.roots.projet_de_vie, fieldKey: 'projet_de_vie', label: 'Projet de vie', writable: ctx.canWrite('projet_de_vie') }),
    textField(ctx, scope, {
      ymap: ctx.roots.projet,
      key: 'motif_sans_projet_de_vie',
      fieldKey: 'projet/motif_sans_projet_de_vie',
      label: 'Si aucun projet de vie n\'est écrit : pourquoi',
      hint: 'Par exemple : la personne ne souhaite pas l\'exprimer pour l\'instant.',
      writable: ctx.canWrite('projet/motif_sans_projet_de_vie')
    }))
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function attentesSection (ctx, scope) {
  const arr = ctx.roots.attentes
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const card = h('article', { class: 'card item', dataset: { itemId: item.get('id') } })
    const body = h('div', { class: 'card__body' })
    let inner = s.child()
    const paint = () => {
      inner.dispose()
      inner = s.child()
      const id = item.get('id')
      const origine = item.get('origine') || 'personne'
      replace(body, 
        selectField(ctx, inner, {
          ymap: item, key: 'origine', fieldKey: `attentes/${id}/origine`, label: 'Exprimée par',
          options: ctx.mode === 'own' ? entries(ORIGINE_LABELS).filter(([v]) => OWN_ORIGINS.has(v)) : entries(ORIGINE_LABELS), fallback: 'personne', writable: ctx.canWrite(`attentes/${id}/origine`, { origine })
        }),
        textField(ctx, inner, { ymap: item, key: 'texte', fieldKey: `attentes/${id}/texte`, label: 'Attente', writable: ctx.canWrite(`attentes/${id}/texte`, { origine }) })
      )
      replace(actions, ctx.canStructureOf('attentes') || (ctx.mode === 'own' && OWN_ORIGINS.has(origine))
        ? deleteButton(ctx, 'attentes', item, 'Attente', "l'attente")
        : null)
    }
    const actions = h('div', { class: 'card__actions' })
    paint()
    if (ctx.mode === 'own') observeKeys(s, item, ['origine'], paint)
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Attente', api, null), actions),
      body)
    return card
  }
  const own = ctx.mode === 'own' ? ctx.ownOrigine : null
  sectionEl = section('attentes', 'Attentes', 'Ce que la personne, son entourage ou les professionnels attendent de l\'accompagnement.',
    itemList(ctx, scope, { yarray: arr, renderItem, emptyText: 'Aucune attente pour le moment.', label: 'Attentes' }),
    ctx.canStructureOf('attentes') || own
      ? addButton('Ajouter une attente', () => {
        const id = addAttente(ctx.doc, { origine: own || 'professionnel' })
        focusNewItem(sectionEl, id)
      })
      : null)
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function besoinCodeField (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `besoins/${id}/code`
  const writable = ctx.canWrite(fieldKey)
  const value = h('p', { class: 'code-value' })
  const paint = () => {
    const code = item.get('code')
    replace(value, code
      ? h('span', {}, h('span', { class: 'code' }, code), ' ', ctx.serafin.get(code) || '')
      : h('span', { class: 'ro-value--empty' }, 'Aucun code SERAFIN-PH'))
    if (pick) pick.textContent = code ? 'Changer le code SERAFIN-PH' : 'Choisir un code SERAFIN-PH'
  }
  const labelId = uid('l')
  const problems = h('div', { class: 'problems', id: uid('p') })
  let pick = null
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } },
    h('p', { class: 'ro-label', id: labelId }, 'Code SERAFIN-PH du besoin'), value)
  value.setAttribute('aria-labelledby', labelId)
  if (writable) {
    pick = h('button', {
      type: 'button',
      class: 'btn',
      'aria-describedby': `${labelId} ${problems.id}`,
      on: {
        click: async () => {
          const code = await pickSerafin({ title: 'Choisir le besoin SERAFIN-PH', kinds: ['besoin'], labels: ctx.serafin })
          if (code && code !== item.get('code') && ctx.stillWritable()) ctx.doc.transact(() => item.set('code', code))
        }
      }
    })
    wrapper.append(h('div', { class: 'inline-actions' }, pick))
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  }
  wrapper.append(problems)
  paint()
  observeKeys(scope, item, ['code'], paint)
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control: pick, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function besoinsSection (ctx, scope) {
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    const heading = cardHeading(s, card, item, 'Besoin', api, 'description')
    card.append(
      h('div', { class: 'card__head' }, heading, ctx.canStructureOf('besoins') ? deleteButton(ctx, 'besoins', item, 'Besoin', 'le besoin') : null),
      h('div', { class: 'card__body' },
        besoinCodeField(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: `besoins/${id}/description`, label: 'Description du besoin', writable: ctx.canWrite(`besoins/${id}/description`) }),
        textField(ctx, s, { ymap: item, key: 'analyse', fieldKey: `besoins/${id}/analyse`, label: 'Analyse professionnelle', writable: ctx.canWrite(`besoins/${id}/analyse`) }),
        textField(ctx, s, {
          ymap: item,
          key: 'motif_sans_objectif',
          fieldKey: `besoins/${id}/motif_sans_objectif`,
          label: 'Si aucun objectif ne répond à ce besoin : pourquoi',
          hint: 'Par exemple : pris en charge par un partenaire, ou choix de la personne.',
          writable: ctx.canWrite(`besoins/${id}/motif_sans_objectif`)
        })))
    return card
  }
  sectionEl = section('besoins', 'Besoins', 'Chaque besoin est codé avec la nomenclature SERAFIN-PH (codes 1.x).',
    frozenNote(ctx, 'besoins'),
    itemList(ctx, scope, { yarray: ctx.roots.besoins, renderItem, emptyText: 'Aucun besoin pour le moment.', label: 'Besoins' }),
    ctx.canStructureOf('besoins')
      ? addButton('Ajouter un besoin', async () => {
        const code = await pickSerafin({ title: 'Nouveau besoin : choisir le code SERAFIN-PH', kinds: ['besoin'], labels: ctx.serafin })
        if (code === null || !ctx.stillWritable()) return
        focusNewItem(sectionEl, addBesoin(ctx.doc, { code }))
      })
      : null)
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @returns {import('./fields.js').Choices}
 */
function besoinOptions (ctx) {
  return ctx.roots.besoins.toArray().filter((m) => m instanceof Y.Map).map((b, i) => {
    const code = b.get('code')
    const desc = textOf(b, 'description')
    const name = code ? ctx.serafin.describe(code) : `Besoin ${i + 1} (non codé)`
    return [b.get('id'), desc ? `${name} — ${excerpt(desc, 50)}` : name]
  })
}

/**
 * The one besoin of an objective: a single choice (the UI never adds a second one).
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function besoinOfObjectif (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `objectifs/${id}/besoin_ids`
  const writable = ctx.canWrite(fieldKey)
  const options = () => besoinOptions(ctx)
  const subscribe = subscribeDeep([ctx.roots.besoins])
  const problems = h('div', { class: 'problems', id: uid('p') })
  const warning = h('div', { class: 'warning', hidden: true })
  let control
  let value
  const labelId = uid('l')
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } })
  const paint = () => {
    const ids = arrayOf(item, 'besoin_ids')
    const opts = options()
    const labelOf = (v) => opts.find(([x]) => x === v)?.[1] || 'besoin supprimé'
    if (control) {
      const wanted = [['', '— Choisir le besoin —'], ...opts]
      if (ids[0] && !opts.some(([v]) => v === ids[0])) wanted.push([ids[0], labelOf(ids[0])])
      while (control.options.length > wanted.length) control.remove(control.options.length - 1)
      wanted.forEach(([v, text], i) => {
        let option = control.options[i]
        if (!option) { option = h('option'); control.add(option) }
        if (option.getAttribute('value') !== v) option.setAttribute('value', v)
        if (option.textContent !== text) option.textContent = text
      })
      control.value = ids[0] || ''
    } else {
      replace(value, ...(ids.length ? ids.map((v) => h('span', { class: 'ro-chip' }, labelOf(v))) : [h('span', { class: 'ro-value--empty' }, 'Aucun besoin')]))
    }
    if (ids.length > 1) {
      warning.hidden = false
      replace(warning, 
        h('p', {}, `Cet objectif répond à ${ids.length} besoins : un objectif ne répond qu'à un seul besoin.`),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn',
            on: { click: () => setSingleBesoin(ctx.doc, item, ids[0]) }
          }, `Ne garder que « ${excerpt(labelOf(ids[0]), 40)} »`)
          : null)
    } else {
      warning.hidden = true
      warning.replaceChildren()
    }
  }
  if (writable) {
    control = h('select', { id: uid('b'), 'aria-describedby': problems.id })
    control.addEventListener('change', () => setSingleBesoin(ctx.doc, item, control.value || null))
    wrapper.append(h('label', { for: control.id }, 'Besoin auquel répond l\'objectif (un seul)'), control)
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  } else {
    value = h('p', { class: 'ro-value', 'aria-labelledby': labelId })
    wrapper.classList.add('field--ro')
    wrapper.append(h('p', { class: 'ro-label', id: labelId }, 'Besoin auquel répond l\'objectif'), value)
  }
  wrapper.append(warning, problems)
  let inner = null
  const rebind = () => {
    if (inner) inner()
    const arr = item.get('besoin_ids')
    inner = null
    if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
    paint()
  }
  rebind()
  observeKeys(scope, item, ['besoin_ids'], rebind)
  scope.add(() => inner && inner())
  scope.add(subscribe(paint))
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function objectifsSection (ctx, scope) {
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const k = (key) => `objectifs/${id}/${key}`
    const w = (key) => ctx.canWrite(k(key))
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Objectif', api), ctx.canStructureOf('objectifs') ? deleteButton(ctx, 'objectifs', item, 'Objectif', "l'objectif") : null),
      h('div', { class: 'card__body' },
        textField(ctx, s, { ymap: item, key: 'titre', fieldKey: k('titre'), label: 'Titre', multiline: false, writable: w('titre') }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: k('description'), label: 'Description', writable: w('description') }),
        besoinOfObjectif(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'domaine', fieldKey: k('domaine'), label: 'Domaine', multiline: false, writable: w('domaine') }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_debut', fieldKey: k('date_debut'), label: 'Date de début', writable: w('date_debut') }),
          dateField(ctx, s, { ymap: item, key: 'date_echeance', fieldKey: k('date_echeance'), label: 'Échéance', writable: w('date_echeance') })),
        textField(ctx, s, { ymap: item, key: 'resultat_attendu', fieldKey: k('resultat_attendu'), label: 'Résultat attendu', writable: w('resultat_attendu') }),
        textField(ctx, s, { ymap: item, key: 'strategie', fieldKey: k('strategie'), label: 'Stratégie', writable: w('strategie') }),
        row(
          selectField(ctx, s, { ymap: item, key: 'referent_id', fieldKey: k('referent_id'), label: 'Référent', options: ctx.memberOptions, nullable: true, writable: w('referent_id') }),
          selectField(ctx, s, { ymap: item, key: 'statut', fieldKey: k('statut'), label: 'Statut', options: entries(STATUT_OBJECTIF_LABELS), fallback: 'en_preparation', writable: w('statut') })),
        textField(ctx, s, { ymap: item, key: 'avis_usager', fieldKey: k('avis_usager'), label: 'Avis de la personne', hint: 'Ce que la personne pense de cet objectif, avec ses mots.', writable: w('avis_usager') })))
    return card
  }
  sectionEl = section('objectifs', 'Objectifs', 'Chaque objectif répond à un seul besoin.',
    frozenNote(ctx, 'objectifs'),
    itemList(ctx, scope, { yarray: ctx.roots.objectifs, renderItem, emptyText: 'Aucun objectif pour le moment.', label: 'Objectifs' }),
    ctx.canStructureOf('objectifs') ? addButton('Ajouter un objectif', () => focusNewItem(sectionEl, addObjectif(ctx.doc))) : null)
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function prestationsField (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `actions/${id}/prestations`
  const writable = ctx.canWrite(fieldKey)
  const legendId = uid('l')
  const list = h('ul', { class: 'chips', 'aria-labelledby': legendId })
  const problems = h('div', { class: 'problems', id: uid('p') })
  let add = null
  const paint = () => {
    const codes = arrayOf(item, 'prestations')
    replace(list, ...codes.map((code, index) => h('li', { class: 'chip' },
      h('span', {}, h('span', { class: 'code' }, code), ' ', ctx.serafin.get(code)),
      writable
        ? h('button', {
          type: 'button',
          class: 'btn btn--ghost btn--small',
          'aria-label': `Retirer la prestation ${code}`,
          on: {
            click: () => {
              ctx.doc.transact(() => {
                const arr = ensureArray(ctx, item, 'prestations')
                const values = arr.toArray()
                const at = values.indexOf(code) === index ? index : values.indexOf(code)
                if (at >= 0) arr.delete(at, 1)
              })
              add?.focus()
            }
          }
        }, 'Retirer')
        : null)))
    if (!codes.length) list.append(h('li', { class: 'ro-value--empty' }, 'Aucune prestation'))
  }
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } },
    h('p', { class: 'ro-label', id: legendId }, 'Prestations SERAFIN-PH (2.x directes, 3.x indirectes)'), list)
  if (writable) {
    add = h('button', {
      type: 'button',
      class: 'btn',
      'aria-describedby': problems.id,
      on: {
        click: async () => {
          const code = await pickSerafin({
            title: 'Ajouter une prestation SERAFIN-PH',
            kinds: ['prestation_directe', 'prestation_indirecte'],
            labels: ctx.serafin,
            exclude: new Set(arrayOf(item, 'prestations'))
          })
          if (!code || !ctx.stillWritable()) return
          ctx.doc.transact(() => {
            const arr = ensureArray(ctx, item, 'prestations')
            if (!arr.toArray().includes(code)) arr.push([code])
          })
        }
      }
    }, 'Ajouter une prestation')
    wrapper.append(h('div', { class: 'inline-actions' }, add))
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  }
  wrapper.append(problems)
  let inner = null
  const rebind = () => {
    if (inner) inner()
    const arr = item.get('prestations')
    inner = null
    if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
    paint()
  }
  rebind()
  observeKeys(scope, item, ['prestations'], rebind)
  scope.add(() => inner && inner())
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control: add, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function planningField (ctx, scope, item) {
  const id = item.get('id')
  const base = `actions/${id}/planning`
  const writable = ctx.canWrite(base)
  const container = h('div', { class: 'planning', dataset: { field: base } })
  const problems = h('div', { class: 'problems' })
  let inner = scope.child()
  const paint = () => {
    inner.dispose()
    inner = scope.child()
    const planning = item.get('planning')
    if (!(planning instanceof Y.Map)) {
      replace(container, 
        h('p', { class: 'ro-label' }, 'Planning'),
        h('p', { class: 'ro-value ro-value--empty' }, 'Pas de planning régulier.'),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn',
            on: {
              click: () => {
                ctx.doc.transact(() => item.set('planning', newPlanning()))
                requestAnimationFrame(() => container.querySelector('select')?.focus())
              }
            }
          }, 'Ajouter un planning')
          : null,
        problems)
      return
    }
    const k = (key) => `${base}/${key}`
    const unit = () => FREQUENCE_UNITS[planning.get('frequence') || 'hebdomadaire']
    const intervalle = integerField(ctx, inner, { ymap: planning, key: 'intervalle', fieldKey: k('intervalle'), label: 'Intervalle', min: 1, max: 52, nullable: false, fallback: 1, writable, hint: `Tous les N ${unit()}`, suffix: '' })
    observeKeys(inner, planning, ['frequence'], () => {
      const hint = intervalle.querySelector('.hint')
      if (hint) hint.textContent = `Tous les N ${unit()}`
    })
    const legendId = uid('planning')
    replace(container, 
      h('fieldset', { class: 'planning__box', 'aria-labelledby': legendId },
        h('legend', { id: legendId }, 'Planning (rythme, jours, heure, durée, lieu)'),
        row(
          selectField(ctx, inner, { ymap: planning, key: 'frequence', fieldKey: k('frequence'), label: 'Fréquence', options: entries(FREQUENCE_LABELS), fallback: 'hebdomadaire', writable }),
          intervalle),
        checkboxesField(ctx, inner, {
          ymap: planning,
          key: 'jours',
          fieldKey: k('jours'),
          legend: 'Jours',
          options: () => JOURS.map(([code, name]) => [code, name]),
          writable,
          emptyText: 'Aucun jour'
        }),
        row(
          timeField(ctx, inner, { ymap: planning, key: 'heure_debut', fieldKey: k('heure_debut'), label: 'Heure de début', writable }),
          integerField(ctx, inner, { ymap: planning, key: 'duree_minutes', fieldKey: k('duree_minutes'), label: 'Durée (minutes)', min: 1, max: 1440, writable, suffix: 'min' })),
        textField(ctx, inner, { ymap: planning, key: 'lieu', fieldKey: k('lieu'), label: 'Lieu', multiline: false, writable }),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn btn--ghost btn--danger-text',
            on: {
              click: async () => {
                if (await confirmDialog('Supprimer le planning de cette action ?', { confirmLabel: 'Supprimer', danger: true }) && ctx.stillWritable()) {
                  ctx.doc.transact(() => item.set('planning', null))
                }
              }
            }
          }, 'Supprimer le planning')
          : null),
      problems)
  }
  paint()
  observeKeys(scope, item, ['planning'], paint)
  scope.add(ctx.problems.register(base, { wrapper: container, control: null, slot: problems }))
  return container
}

/**
 * A time ("HH:MM"), as a date field whose input is of type time.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {import('./fields.js').FieldOptions} options
 * @returns {HTMLElement}
 */
function timeField (ctx, scope, { ymap, key, fieldKey, label, writable }) {
  if (!writable) {
    return stringField(ctx, scope, { ymap, key, fieldKey, label, writable: false })
  }
  const wrapper = dateField(ctx, scope, { ymap, key, fieldKey, label, writable: true })
  const input = wrapper.querySelector('input')
  input.type = 'time'
  input.step = '60'
  const v = ymap.get(key)
  input.value = typeof v === 'string' ? v : ''
  return wrapper
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function actionsSection (ctx, scope) {
  let sectionEl = null
  const objectifOptions = () => ctx.roots.objectifs.toArray().filter((m) => m instanceof Y.Map)
    .map((o, i) => [o.get('id'), `Objectif ${i + 1} : ${excerpt(textOf(o, 'titre') || 'sans titre', 70)}`])
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const k = (key) => `actions/${id}/${key}`
    const w = (key) => ctx.canWrite(k(key))
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Action', api), ctx.canStructureOf('actions') ? deleteButton(ctx, 'actions', item, 'Action', "l'action") : null),
      h('div', { class: 'card__body' },
        textField(ctx, s, { ymap: item, key: 'titre', fieldKey: k('titre'), label: 'Titre', multiline: false, writable: w('titre') }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: k('description'), label: 'Description', writable: w('description') }),
        checkboxesField(ctx, s, {
          ymap: item, key: 'objectif_ids', fieldKey: k('objectif_ids'), legend: 'Objectifs servis', options: objectifOptions,
          subscribe: subscribeDeep([ctx.roots.objectifs], 300), writable: w('objectif_ids'), emptyText: 'Aucun objectif'
        }),
        prestationsField(ctx, s, item),
        row(
          selectField(ctx, s, { ymap: item, key: 'referent_id', fieldKey: k('referent_id'), label: 'Référent', options: ctx.memberOptions, nullable: true, writable: w('referent_id') }),
          selectField(ctx, s, { ymap: item, key: 'statut', fieldKey: k('statut'), label: 'Statut', options: entries(STATUT_ACTION_LABELS), fallback: 'en_preparation', writable: w('statut'), hint: "« À l'essai » avant stabilisation." })),
        checkboxesField(ctx, s, {
          ymap: item, key: 'intervenant_ids', fieldKey: k('intervenant_ids'), legend: 'Intervenants', options: ctx.memberOptions, writable: w('intervenant_ids'), emptyText: 'Aucun intervenant'
        }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_debut', fieldKey: k('date_debut'), label: 'Début', writable: w('date_debut') }),
          dateField(ctx, s, { ymap: item, key: 'date_fin', fieldKey: k('date_fin'), label: 'Fin', writable: w('date_fin') })),
        planningField(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'resultat_attendu', fieldKey: k('resultat_attendu'), label: 'Résultat attendu', writable: w('resultat_attendu') }),
        textField(ctx, s, { ymap: item, key: 'avis_usager', fieldKey: k('avis_usager'), label: 'Avis de la personne', writable: w('avis_usager') })))
    return card
  }
  sectionEl = section('actions', "Actions (modalités d'accompagnement)", 'Ce qui est fait, par qui, quand et où, au service des objectifs.',
    itemList(ctx, scope, { yarray: ctx.roots.actions, renderItem, emptyText: 'Aucune action pour le moment.', label: 'Actions' }),
    ctx.canStructureOf('actions') ? addButton('Ajouter une action', () => focusNewItem(sectionEl, addAction(ctx.doc))) : null)
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function moyensSection (ctx, scope) {
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Moyen', api, 'description'), ctx.canStructureOf('moyens') ? deleteButton(ctx, 'moyens', item, 'Moyen', 'le moyen') : null),
      h('div', { class: 'card__body' },
        selectField(ctx, s, { ymap: item, key: 'type', fieldKey: `moyens/${id}/type`, label: 'Type', options: entries(TYPE_MOYEN_LABELS), fallback: 'autre', writable: ctx.canWrite(`moyens/${id}/type`) }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: `moyens/${id}/description`, label: 'Description', writable: ctx.canWrite(`moyens/${id}/description`) })))
    return card
  }
  sectionEl = section('moyens', 'Moyens et ressources', null,
    itemList(ctx, scope, { yarray: ctx.roots.moyens, renderItem, emptyText: 'Aucun moyen pour le moment.', label: 'Moyens' }),
    ctx.canStructureOf('moyens') ? addButton('Ajouter un moyen', () => focusNewItem(sectionEl, addMoyen(ctx.doc))) : null)
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function bilanSection (ctx, scope) {
  const bilan = ctx.roots.bilan
  const w = (k) => ctx.canWrite(`bilan/${k}`)
  return section('bilan', 'Bilan', null,
    row(
      dateField(ctx, scope, { ymap: bilan, key: 'date_evaluation', fieldKey: 'bilan/date_evaluation', label: "Date de l'évaluation", writable: w('date_evaluation') }),
      dateField(ctx, scope, { ymap: bilan, key: 'prochaine_revision', fieldKey: 'bilan/prochaine_revision', label: 'Prochaine révision', writable: w('prochaine_revision'), hint: 'Au moins une fois par an.' })),
    textField(ctx, scope, { ymap: bilan, key: 'notes_preparation', fieldKey: 'bilan/notes_preparation', label: 'Notes de préparation', hint: 'Peuvent être écrites par la personne ou un proche.', writable: w('notes_preparation') }),
    stringField(ctx, scope, { ymap: bilan, key: 'redige_par', fieldKey: 'bilan/redige_par', label: 'Notes rédigées par', writable: w('redige_par') }))
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
function accordsSection (ctx, scope) {
  const list = h('ul', { class: 'accords' })
  const paint = () => {
    const items = ctx.roots.accords.toArray().filter((m) => m instanceof Y.Map)
    replace(list, ...items.map((a) => {
      const mode = a.get('mode') || 'signe'
      const parts = [
        `${ACCORD_TYPE_LABELS[a.get('type') || 'structure']} : ${ACCORD_MODE_LABELS[mode] || mode}`,
        a.get('par') ? `par ${ctx.memberName(a.get('par'))}` : '',
        a.get('temoin') ? `témoin : ${a.get('temoin')}` : '',
        a.get('date') ? `le ${formatDate(a.get('date'))}` : ''
      ].filter(Boolean)
      const motif = textOf(a, 'motif')
      return h('li', {}, parts.join(', '), motif ? h('span', { class: 'muted' }, ` — motif : ${motif}`) : null)
    }))
    if (!items.length) list.append(h('li', { class: 'ro-value--empty' }, 'Aucun accord enregistré (ils sont recueillis lors de la validation).'))
  }
  observe(scope, ctx.roots.accords, paint, true)
  paint()
  return section('accords', 'Accords', null, list)
}

export const SECTIONS = [
  ['projet', 'Projet'],
  ['projet_de_vie', 'Projet de vie'],
  ['attentes', 'Attentes'],
  ['besoins', 'Besoins'],
  ['objectifs', 'Objectifs'],
  ['actions', 'Actions'],
  ['moyens', 'Moyens'],
  ['bilan', 'Bilan'],
  ['accords', 'Accords']
]

/**
 * Every section of the form, bound to ctx.doc; `scope` holds their observers.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @returns {HTMLElement[]}
 */
export function renderForm (ctx, scope) {
  return [
    projetSection(ctx, scope),
    projetDeVieSection(ctx, scope),
    attentesSection(ctx, scope),
    besoinsSection(ctx, scope),
    objectifsSection(ctx, scope),
    actionsSection(ctx, scope),
    moyensSection(ctx, scope),
    bilanSection(ctx, scope),
    accordsSection(ctx, scope)
  ]
}
