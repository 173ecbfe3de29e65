// Tiny DOM helpers (no framework: form controls are bound directly to Yjs types, so the
// browser keeps caret, selection and focus exactly where the user left them).

/**
 * h('button', { class: 'x', type: 'button', on: { click } }, 'Texte', child, [more])
 * Props: class, text, html is never supported (no innerHTML: everything is text), on: {event: fn},
 * dataset: {...}, style: {...}; any other prop is set as attribute (false/null/undefined skipped,
 * true -> empty attribute).
 */
export function h (tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value
    else if (key === 'text') el.textContent = value
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn)
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'style') Object.assign(el.style, value)
    else if (key === 'value') el.value = value
    else if (key === 'checked') el.checked = Boolean(value)
    else if (key === 'selected') el.selected = Boolean(value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

export function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

export function clear (el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

let seq = 0
/** A document-unique element id. */
export function uid (prefix = 'id') {
  seq += 1
  return `${prefix}-${seq}`
}

/** Announce a message to screen readers (polite live region). */
export function announce (message) {
  const region = document.getElementById('announcer')
  if (!region) return
  region.textContent = ''
  setTimeout(() => { region.textContent = message }, 30)
}

const dateFormat = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' })
const dateTimeFormat = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris' })

/** "2027-06-30" -> "30 juin 2027" (no time zone shift: the date is a calendar date). */
export function formatDate (iso) {
  if (!iso) return ''
  const [y, m, d] = iso.split('-').map(Number)
  return dateFormat.format(new Date(Date.UTC(y, m - 1, d, 12)))
}

export function formatDateTime (iso) {
  if (!iso) return ''
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : dateTimeFormat.format(date)
}

/** Calls fn at most once per `ms`, with the last arguments (trailing edge). */
export function debounce (fn, ms) {
  let timer = null
  const wrapped = (...args) => {
    clearTimeout(timer)
    timer = setTimeout(() => { timer = null; fn(...args) }, ms)
  }
  wrapped.cancel = () => clearTimeout(timer)
  return wrapped
}

/** el.replaceChildren, skipping null/false and flattening arrays (like h()). */
export function replace (el, ...children) {
  clear(el)
  return append(el, children)
}
