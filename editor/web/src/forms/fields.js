// Form controls bound to the Yjs document (docs/document-schema.md), editable or read-only.
import * as Y from 'yjs'
import { formatDate, h, uid } from '../dom.js'
import { withoutIllegalChars } from '../collab/clean_text.js'
import { TextBinding } from '../collab/text.js'

/**
 * What the fields need from the editor page (views/editor.js builds it; sections.js says the rest).
 * @typedef {object} FieldContext
 * @property {Y.Doc} doc the live document
 * @property {import('../collab/presence.js').Presence} presence who is in which field
 * @property {import('../problems.js').ProblemRegistry} problems validation problems by field
 */

/**
 * Options every field bound to a key of a map takes.
 * @typedef {object} FieldOptions
 * @property {Y.Map<any>} ymap the map holding the value
 * @property {string} key the value's key in `ymap`
 * @property {string} fieldKey presence and problems key ("root/id/key")
 * @property {string} label
 * @property {boolean} writable false: a read-only value
 * @property {string} [hint] help shown under the label
 */

/** Choices of a list: [value, label] pairs. @typedef {Array<string[]>} Choices */

/** Collects teardown functions (observers, bindings) of one part of the form. */
export class Scope {
  constructor () {
    /** @type {Array<() => void>} */
    this.fns = []
  }

  /**
   * @template {() => void} F
   * @param {F} fn
   * @returns {F}
   */
  add (fn) { this.fns.push(fn); return fn }
  child () {
    const scope = new Scope()
    this.add(() => scope.dispose())
    return scope
  }

  dispose () {
    for (const fn of this.fns.splice(0).reverse()) {
      try { fn() } catch (error) { console.error(error) }
    }
  }
}

/**
 * Calls `fn` when one of `keys` of `ymap` changes, until `scope` is disposed.
 * @param {Scope} scope
 * @param {Y.Map<any>} ymap
 * @param {string[]} keys
 * @param {() => void} fn
 */
export function observeKeys (scope, ymap, keys, fn) {
  const wanted = new Set(keys)
  const observer = (event) => {
    for (const key of event.keysChanged) {
      if (wanted.has(key)) { fn(); return }
    }
  }
  ymap.observe(observer)
  scope.add(() => ymap.unobserve(observer))
}

/**
 * ytype.observe(fn) (observeDeep when `deep`) until `scope` is disposed.
 * @param {Scope} scope
 * @param {Y.AbstractType<any>} ytype
 * @param {() => void} fn
 * @param {boolean} [deep]
 */
export function observe (scope, ytype, fn, deep = false) {
  if (deep) {
    ytype.observeDeep(fn)
    scope.add(() => ytype.unobserveDeep(fn))
  } else {
    ytype.observe(fn)
    scope.add(() => ytype.unobserve(fn))
  }
}

/**
 * The wrapper of one field: label, control (or read-only value), problem messages; registered
 * for presence (outline + names) and for validation problems under `fieldKey`.
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {object} options
 * @param {string} options.fieldKey
 * @param {string} options.label
 * @param {string} [options.hint]
 * @param {HTMLElement} [options.control] the control (editable), else `readOnlyValue`
 * @param {HTMLElement} [options.readOnlyValue]
 * @param {boolean} [options.group] the control is a fieldset (its legend labels it)
 * @param {string} [options.extraClass]
 * @returns {HTMLElement}
 */
function fieldShell (ctx, scope, { fieldKey, label, hint, control, readOnlyValue, group = false, extraClass }) {
  const id = control?.id || uid('f')
  const problemsId = `${id}-problems`
  const hintId = hint ? `${id}-hint` : null
  const problems = h('div', { class: 'problems', id: problemsId })
  let wrapper
  if (control) {
    const describedBy = [hintId, problemsId].filter(Boolean).join(' ')
    if (group) {
      control.setAttribute('aria-describedby', describedBy)
      wrapper = h('div', { class: ['field', extraClass], dataset: { field: fieldKey } }, control, hint ? h('p', { class: 'hint', id: hintId }, hint) : null, problems)
    } else {
      control.setAttribute('aria-describedby', describedBy)
      wrapper = h('div', { class: ['field', extraClass], dataset: { field: fieldKey } },
        h('label', { for: id }, label),
        hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
        control.closest?.('.ytext') ? control.closest('.ytext') : control,
        problems)
    }
  } else {
    const labelId = uid('l')
    readOnlyValue.setAttribute('aria-labelledby', labelId)
    wrapper = h('div', { class: ['field', 'field--ro', extraClass], dataset: { field: fieldKey } },
      h('p', { class: 'ro-label', id: labelId }, label),
      readOnlyValue,
      problems)
  }
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control, slot: problems }))
  if (control) {
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (event) => {
      if (!wrapper.contains(event.relatedTarget)) ctx.presence.clearField(fieldKey)
    })
  }
  return wrapper
}

/**
 * @param {string} value
 * @param {string} [empty] shown when `value` is empty
 * @returns {HTMLElement}
 */
function roText (value, empty = 'Non renseigné') {
  const el = h('p', { class: 'ro-value' })
  setRoText(el, value, empty)
  return el
}

/**
 * @param {HTMLElement} el
 * @param {string} value
 * @param {string} [empty] shown when `value` is empty
 */
function setRoText (el, value, empty = 'Non renseigné') {
  el.textContent = value || empty
  el.classList.toggle('ro-value--empty', !value)
}

/**
 * A Text value (Y.Text) at ymap[key] (or a root Y.Text when ymap is null and `ytext` given).
 * A missing key is created (with what was typed) on the first input, once the document is loaded.
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {object} options
 * @param {Y.Map<any> | null} [options.ymap] the map holding the text (null: `ytext` is given)
 * @param {string | null} [options.key]
 * @param {Y.Text | null} [options.ytext] a root text
 * @param {string} options.fieldKey
 * @param {string} options.label
 * @param {boolean} [options.multiline] a textarea (true) or a one-line input
 * @param {string} [options.hint]
 * @param {boolean} options.writable
 * @returns {HTMLElement}
 */
export function textField (ctx, scope, { ymap = null, key = null, ytext: rootText = null, fieldKey, label, multiline = true, hint, writable }) {
  const current = () => rootText || (ymap.get(key) instanceof Y.Text ? ymap.get(key) : null)
  if (!writable) {
    const value = roText('')
    const paint = () => setRoText(value, current()?.toString() || '')
    paint()
    let bound = null
    const rebind = () => {
      if (bound) bound()
      const yt = current()
      bound = null
      if (yt) {
        yt.observe(paint)
        bound = () => yt.unobserve(paint)
      }
      paint()
    }
    rebind()
    if (ymap) observeKeys(scope, ymap, [key], rebind)
    scope.add(() => bound && bound())
    return fieldShell(ctx, scope, { fieldKey, label, hint, readOnlyValue: value })
  }
  const id = uid('t')
  const control = multiline
    ? h('textarea', { id, rows: '2', spellcheck: 'true', lang: 'fr' })
    : h('input', { id, type: 'text', spellcheck: 'true', lang: 'fr', autocomplete: 'off' })
  const backdrop = h('div', { class: 'ytext__backdrop', 'aria-hidden': 'true', hidden: true })
  h('div', { class: ['ytext', multiline ? 'ytext--multi' : 'ytext--single'] }, backdrop, control)
  let binding = null
  let unregister = null
  const attach = () => {
    if (binding) { binding.destroy(); binding = null }
    if (unregister) { unregister(); unregister = null }
    const yt = current()
    if (!yt) { control.value = ''; return }
    binding = new TextBinding({
      doc: ctx.doc,
      ytext: yt,
      el: control,
      backdrop,
      onLocalSelection: (anchor, head) => ctx.presence.setCursor(fieldKey, yt, anchor, head),
      onChange: () => ctx.presence.refreshText(fieldKey, binding)
    })
    unregister = ctx.presence.registerText(fieldKey, binding)
  }
  attach()
  if (ymap) {
    observeKeys(scope, ymap, [key], attach)
    control.addEventListener('input', () => {
      if (binding) return
      const initial = withoutIllegalChars(control.value)
      ctx.doc.transact(() => ymap.set(key, new Y.Text(initial)))
      // attach() ran from the observer; the binding now holds the typed text
    })
  }
  scope.add(() => { if (binding) binding.destroy(); if (unregister) unregister() })
  const wrapper = fieldShell(ctx, scope, { fieldKey, label, hint, control })
  wrapper.classList.add('field--text')
  return wrapper
}

/**
 * A date ("YYYY-MM-DD" or null).
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {FieldOptions} options
 * @returns {HTMLElement}
 */
export function dateField (ctx, scope, { ymap, key, fieldKey, label, writable, hint }) {
  if (!writable) {
    const value = roText('')
    const paint = () => setRoText(value, formatDate(ymap.get(key)))
    paint()
    observeKeys(scope, ymap, [key], paint)
    return fieldShell(ctx, scope, { fieldKey, label, hint, readOnlyValue: value })
  }
  const control = h('input', { id: uid('d'), type: 'date' })
  const paint = () => {
    const v = ymap.get(key)
    const next = typeof v === 'string' ? v : ''
    if (control.value !== next) control.value = next
  }
  paint()
  observeKeys(scope, ymap, [key], paint)
  control.addEventListener('change', () => {
    const v = control.value || null
    if ((ymap.get(key) ?? null) !== v) ctx.doc.transact(() => ymap.set(key, v))
  })
  return fieldShell(ctx, scope, { fieldKey, label, hint, control })
}

/**
 * An enum or a nullable reference chosen in a list: options [[value, label]].
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {FieldOptions & {
 *   options: Choices | (() => Choices),
 *   nullable?: boolean,
 *   fallback?: string | null,
 *   emptyLabel?: string
 * }} options nullable: offer "none" (emptyLabel); fallback: the value shown when the key is missing
 * @returns {HTMLElement & {refresh: () => void}}
 */
export function selectField (ctx, scope, { ymap, key, fieldKey, label, options, writable, nullable = false, fallback = null, hint, emptyLabel = '— Non renseigné —' }) {
  const labelOf = (v) => {
    const found = (typeof options === 'function' ? options() : options).find(([value]) => value === v)
    return found ? found[1] : (v ? `${v} (inconnu)` : '')
  }
  const currentValue = () => ymap.get(key) ?? fallback
  if (!writable) {
    const value = roText('')
    const paint = () => setRoText(value, labelOf(currentValue()))
    paint()
    observeKeys(scope, ymap, [key], paint)
    return Object.assign(fieldShell(ctx, scope, { fieldKey, label, hint, readOnlyValue: value }), { refresh: paint })
  }
  const control = h('select', { id: uid('s') })
  const fill = () => {
    const opts = typeof options === 'function' ? options() : options
    const v = currentValue()
    const wanted = [...(nullable ? [['', emptyLabel]] : []), ...opts]
    if (v && !opts.some(([value]) => value === v)) wanted.push([v, `${v} (inconnu)`])
    // update in place (keeps focus and keyboard position)
    while (control.options.length > wanted.length) control.remove(control.options.length - 1)
    wanted.forEach(([value, text], i) => {
      let option = control.options[i]
      if (!option) { option = h('option'); control.add(option) }
      if (option.getAttribute('value') !== value) option.setAttribute('value', value)
      if (option.textContent !== text) option.textContent = text
    })
    control.value = v ?? ''
  }
  fill()
  observeKeys(scope, ymap, [key], fill)
  control.addEventListener('change', () => {
    const v = control.value === '' ? null : control.value
    if ((ymap.get(key) ?? null) !== v) ctx.doc.transact(() => ymap.set(key, v))
  })
  return Object.assign(fieldShell(ctx, scope, { fieldKey, label, hint, control }), { refresh: fill })
}

/**
 * A plain string set atomically (e.g. bilan.redige_par).
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {FieldOptions} options
 * @returns {HTMLElement}
 */
export function stringField (ctx, scope, { ymap, key, fieldKey, label, writable, hint }) {
  if (!writable) {
    const value = roText('')
    const paint = () => setRoText(value, ymap.get(key) || '')
    paint()
    observeKeys(scope, ymap, [key], paint)
    return fieldShell(ctx, scope, { fieldKey, label, hint, readOnlyValue: value })
  }
  const control = h('input', { id: uid('s'), type: 'text', autocomplete: 'off' })
  const paint = () => {
    if (document.activeElement !== control) control.value = ymap.get(key) || ''
  }
  paint()
  observeKeys(scope, ymap, [key], paint)
  control.addEventListener('change', () => {
    ctx.doc.transact(() => ymap.set(key, control.value))
  })
  return fieldShell(ctx, scope, { fieldKey, label, hint, control })
}

/**
 * An integer (or null) within [min, max].
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {FieldOptions & {
 *   min: number,
 *   max: number,
 *   nullable?: boolean,
 *   fallback?: number | null,
 *   suffix?: string
 * }} options nullable: may be emptied; fallback: the value shown when the key is missing
 * @returns {HTMLElement}
 */
export function integerField (ctx, scope, { ymap, key, fieldKey, label, writable, min, max, nullable = true, fallback = null, hint, suffix }) {
  const currentValue = () => ymap.get(key) ?? fallback
  if (!writable) {
    const value = roText('')
    const paint = () => {
      const v = currentValue()
      setRoText(value, v === null || v === undefined ? '' : `${v}${suffix ? ` ${suffix}` : ''}`)
    }
    paint()
    observeKeys(scope, ymap, [key], paint)
    return fieldShell(ctx, scope, { fieldKey, label, hint, readOnlyValue: value })
  }
  const control = h('input', { id: uid('n'), type: 'number', min: String(min), max: String(max), step: '1', inputmode: 'numeric' })
  const error = h('p', { class: 'problem problem--local', role: 'alert', hidden: true, id: uid('err') })
  const paint = () => {
    if (!error.hidden && document.activeElement === control) return // being corrected
    const v = currentValue()
    control.value = v === null || v === undefined ? '' : String(v)
  }
  paint()
  observeKeys(scope, ymap, [key], paint)
  // The message of what is typed: null when it is valid. A wrong value stays in the input
  // (the person corrects what they typed); the message goes as soon as the value is right.
  const check = (raw) => {
    if (raw === '') return nullable ? null : 'Ce champ est obligatoire.'
    const v = Number(raw)
    return Number.isInteger(v) && v >= min && v <= max ? null : `Indiquez un nombre entier entre ${min} et ${max}.`
  }
  const showError = (message) => {
    error.textContent = message || ''
    error.hidden = !message
    if (message) control.setAttribute('aria-invalid', 'true')
    else control.removeAttribute('aria-invalid')
  }
  control.addEventListener('input', () => { if (!error.hidden && !check(control.value.trim())) showError(null) })
  control.addEventListener('change', () => {
    const raw = control.value.trim()
    const message = check(raw)
    showError(message)
    if (message) return
    const v = raw === '' ? null : Number(raw)
    if ((ymap.get(key) ?? null) !== v) ctx.doc.transact(() => ymap.set(key, v))
  })
  control.addEventListener('blur', () => { if (error.hidden) paint() })
  const wrapper = fieldShell(ctx, scope, { fieldKey, label, hint, control })
  wrapper.append(error)
  control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), error.id].filter(Boolean).join(' '))
  return wrapper
}

/**
 * Ensure ymap[key] is a Y.Array (older content may lack the key) and return it.
 * @param {FieldContext} ctx
 * @param {Y.Map<any>} ymap
 * @param {string} key
 * @returns {Y.Array<any>}
 */
export function ensureArray (ctx, ymap, key) {
  let arr = ymap.get(key)
  if (!(arr instanceof Y.Array)) {
    ctx.doc.transact(() => {
      arr = new Y.Array()
      ymap.set(key, arr)
    })
  }
  return arr
}

/**
 * The strings of the Y.Array at ymap[key] ([] when there is none).
 * @param {Y.Map<any>} ymap
 * @param {string} key
 * @returns {string[]}
 */
export function arrayOf (ymap, key) {
  const arr = ymap.get(key)
  return arr instanceof Y.Array ? arr.toArray().filter((v) => typeof v === 'string') : []
}

/**
 * A set of ids/codes (Array<string>) chosen with checkboxes. options: () => [[value, label]];
 * subscribe(cb) -> unsubscribe, to refresh the options when their source changes.
 * @param {FieldContext} ctx
 * @param {Scope} scope
 * @param {object} options
 * @param {Y.Map<any>} options.ymap
 * @param {string} options.key
 * @param {string} options.fieldKey
 * @param {string} options.legend
 * @param {() => Choices} options.options
 * @param {(cb: () => void) => () => void} [options.subscribe]
 * @param {boolean} options.writable
 * @param {string} [options.hint]
 * @param {string} [options.emptyText] shown when there is nothing to choose or nothing chosen
 * @returns {HTMLElement}
 */
export function checkboxesField (ctx, scope, { ymap, key, fieldKey, legend, options, subscribe, writable, hint, emptyText = 'Aucun' }) {
  const labelOf = (v) => options().find(([value]) => value === v)?.[1] || `${v} (inconnu)`
  if (!writable) {
    const list = h('ul', { class: 'ro-list' })
    const paint = () => {
      list.replaceChildren()
      const values = arrayOf(ymap, key)
      if (!values.length) list.append(h('li', { class: 'ro-value--empty' }, emptyText))
      for (const v of values) list.append(h('li', {}, labelOf(v)))
    }
    paint()
    let inner = null
    const rebind = () => {
      if (inner) inner()
      const arr = ymap.get(key)
      inner = null
      if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
      paint()
    }
    rebind()
    observeKeys(scope, ymap, [key], rebind)
    scope.add(() => inner && inner())
    if (subscribe) scope.add(subscribe(paint))
    return fieldShell(ctx, scope, { fieldKey, label: legend, hint, readOnlyValue: list })
  }
  const fieldset = h('fieldset', { class: 'checkboxes', id: uid('cb') }, h('legend', {}, legend))
  const rows = new Map() // value -> {row, input, text}
  const empty = h('p', { class: 'muted' }, emptyText)
  const paint = () => {
    const opts = options()
    const chosen = new Set(arrayOf(ymap, key))
    const wanted = [...opts]
    for (const v of chosen) if (!opts.some(([value]) => value === v)) wanted.push([v, `${v} (inconnu)`])
    const keep = new Set(wanted.map(([v]) => v))
    for (const [v, row] of rows) if (!keep.has(v)) { row.row.remove(); rows.delete(v) }
    let previous = fieldset.querySelector('legend')
    for (const [value, text] of wanted) {
      let row = rows.get(value)
      if (!row) {
        const input = h('input', { type: 'checkbox', id: uid('c'), value })
        const label = h('label', { for: input.id })
        input.addEventListener('change', () => toggle(value, input.checked))
        row = { row: h('div', { class: 'checkbox' }, input, label), input, text: label }
        rows.set(value, row)
      }
      if (row.text.textContent !== text) row.text.textContent = text
      row.input.checked = chosen.has(value)
      previous.after(row.row)
      previous = row.row
    }
    empty.hidden = wanted.length > 0
  }
  fieldset.append(empty)
  const toggle = (value, checked) => {
    ctx.doc.transact(() => {
      const arr = ensureArray(ctx, ymap, key)
      const values = arr.toArray()
      if (checked) {
        if (!values.includes(value)) arr.push([value])
      } else {
        for (let i = values.length - 1; i >= 0; i--) if (values[i] === value) arr.delete(i, 1)
      }
    })
  }
  let inner = null
  const rebind = () => {
    if (inner) inner()
    const arr = ymap.get(key)
    inner = null
    if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
    paint()
  }
  rebind()
  observeKeys(scope, ymap, [key], rebind)
  scope.add(() => inner && inner())
  if (subscribe) scope.add(subscribe(paint))
  return fieldShell(ctx, scope, { fieldKey, label: legend, hint, control: fieldset, group: true })
}
