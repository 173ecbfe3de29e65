// Binds a Y.Text to an <input> or <textarea>, character by character:
// * local typing -> the minimal insert/delete on the Y.Text (never a whole-value replacement);
// * remote changes -> applied as their delta with setRangeText(..., 'preserve'), so the local
//   caret and selection stay on the same characters (an insertion exactly at the caret stays
//   after it: two people typing at the same place keep their words whole);
// * remote carets and selections are drawn in a backdrop under the (transparent) control;
// * undo/redo (Ctrl+Z, Ctrl+Y, Ctrl+Shift+Z) undo this user's own typing only (Y.UndoManager):
//   the browser's native undo would restore an old value and so delete others' text.
import * as Y from 'yjs'
import { withoutIllegalChars } from './clean_text.js'

/**
 * Minimal edit turning `before` into `after`; `cursor` (caret after the edit) disambiguates.
 * @param {string} before
 * @param {string} after
 * @param {number | null} [cursor]
 * @returns {{index: number, remove: number, insert: string}}
 */
export function diffText (before, after, cursor) {
  let start = 0
  const min = Math.min(before.length, after.length)
  while (start < min && before.charCodeAt(start) === after.charCodeAt(start)) start++
  if (typeof cursor === 'number' && after.length > before.length) {
    start = Math.max(0, Math.min(start, cursor - (after.length - before.length)))
  }
  let endBefore = before.length
  let endAfter = after.length
  while (endBefore > start && endAfter > start && before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)) {
    endBefore--
    endAfter--
  }
  // never split a surrogate pair
  if (start > 0 && isHighSurrogate(after.charCodeAt(start - 1))) start--
  return { index: start, remove: endBefore - start, insert: after.slice(start, endAfter) }
}

function isHighSurrogate (code) {
  return code >= 0xd800 && code <= 0xdbff
}

const COPIED_STYLES = [
  'fontFamily', 'fontSize', 'fontWeight', 'fontStyle', 'lineHeight', 'letterSpacing', 'wordSpacing',
  'textIndent', 'textTransform', 'tabSize', 'paddingTop', 'paddingRight', 'paddingBottom',
  'paddingLeft', 'borderTopWidth', 'borderRightWidth', 'borderBottomWidth', 'borderLeftWidth',
  'boxSizing'
]

export class TextBinding {
  /**
   * @param {object} opts
   * @param {Y.Doc} opts.doc the document holding `ytext`
   * @param {Y.Text} opts.ytext the text bound to `el`
   * @param {HTMLInputElement | HTMLTextAreaElement} opts.el the control
   * @param {HTMLElement} [opts.backdrop] where remote carets and selections are drawn
   * @param {(anchor: number, head: number) => void} [opts.onLocalSelection] the local caret moved
   * @param {() => void} [opts.onChange] the control's value changed (local or remote edit)
   */
  constructor ({ doc, ytext, el, backdrop, onLocalSelection, onChange }) {
    this.onChange = onChange || (() => {})
    this.doc = doc
    this.ytext = ytext
    this.el = el
    this.backdrop = backdrop
    this.onLocalSelection = onLocalSelection
    this.remote = []
    this.origin = this
    this.multiline = el.tagName === 'TEXTAREA'
    el.value = ytext.toString()
    this._observer = (event, transaction) => {
      if (transaction.origin === this.origin) return
      this._applyDelta(event.delta)
    }
    ytext.observe(this._observer)
    this._onInput = () => this._localInput()
    this._onSelect = () => this._reportSelection()
    this._onScroll = () => this._syncScroll()
    el.addEventListener('input', this._onInput)
    for (const ev of ['select', 'keyup', 'mouseup', 'focus']) el.addEventListener(ev, this._onSelect)
    el.addEventListener('scroll', this._onScroll)
    this.undoManager = new Y.UndoManager(ytext, { trackedOrigins: new Set([this.origin]), captureTimeout: 600 })
    this._onKeydown = (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return
      const key = event.key.toLowerCase()
      if (key === 'z' && !event.shiftKey) { event.preventDefault(); this.undoManager.undo() } else if (key === 'y' || (key === 'z' && event.shiftKey)) { event.preventDefault(); this.undoManager.redo() }
    }
    this._onBeforeInput = (event) => {
      if (event.inputType === 'historyUndo') { event.preventDefault(); this.undoManager.undo() } else if (event.inputType === 'historyRedo') { event.preventDefault(); this.undoManager.redo() }
    }
    el.addEventListener('keydown', this._onKeydown)
    el.addEventListener('beforeinput', this._onBeforeInput)
    this.autosize()
  }

  _localInput () {
    const before = this.ytext.toString()
    const after = this._dropIllegalChars()
    if (before === after) return
    const { index, remove, insert } = diffText(before, after, this.el.selectionEnd)
    this.doc.transact(() => {
      if (remove > 0) this.ytext.delete(index, remove)
      if (insert) this.ytext.insert(index, insert)
    }, this.origin)
    this.autosize()
    this._reportSelection()
    this.onChange()
  }

  /**
   * The control's value without the characters the server refuses (a paste can carry them);
   * the caret stays after the same visible characters.
   * @returns {string}
   */
  _dropIllegalChars () {
    const el = this.el
    const value = el.value
    const clean = withoutIllegalChars(value)
    if (clean !== value) {
      const caret = withoutIllegalChars(value.slice(0, el.selectionEnd ?? value.length)).length
      el.value = clean
      el.setSelectionRange(caret, caret)
    }
    return clean
  }

  _applyDelta (delta) {
    const el = this.el
    const focused = document.activeElement === el
    const direction = el.selectionDirection
    let pos = 0
    try {
      for (const op of delta) {
        if (op.retain !== undefined) {
          pos += op.retain
        } else if (typeof op.insert === 'string') {
          el.setRangeText(op.insert, pos, pos, 'preserve')
          pos += op.insert.length
        } else if (op.delete !== undefined) {
          el.setRangeText('', pos, pos + op.delete, 'preserve')
        }
      }
    } catch {
      // fall through to the consistency check
    }
    const expected = this.ytext.toString()
    if (el.value !== expected) {
      const start = el.selectionStart
      const end = el.selectionEnd
      el.value = expected
      if (focused) el.setSelectionRange(Math.min(start, expected.length), Math.min(end, expected.length))
    } else if (focused && direction === 'backward') {
      el.setSelectionRange(el.selectionStart, el.selectionEnd, 'backward')
    }
    this.autosize()
    this.onChange()
  }

  _reportSelection () {
    if (document.activeElement !== this.el || !this.onLocalSelection) return
    const { selectionStart: start, selectionEnd: end, selectionDirection: dir } = this.el
    const anchor = dir === 'backward' ? end : start
    const head = dir === 'backward' ? start : end
    this.onLocalSelection(anchor, head)
  }

  autosize () {
    if (!this.multiline) return
    const el = this.el
    el.style.height = 'auto'
    el.style.height = `${el.scrollHeight + 2}px`
  }

  _syncScroll () {
    if (!this.backdrop) return
    this.backdrop.scrollTop = this.el.scrollTop
    this.backdrop.scrollLeft = this.el.scrollLeft
  }

  /**
   * cursors: [{name, color, anchor, head}] with absolute indexes in this text.
   * @param {Array<{name: string, color: string, anchor: number, head: number}>} cursors
   */
  renderRemote (cursors) {
    this.remote = cursors
    this._paint()
  }

  _paint () {
    const backdrop = this.backdrop
    if (!backdrop) return
    while (backdrop.firstChild) backdrop.firstChild.remove()
    if (this.remote.length === 0) {
      backdrop.hidden = true
      return
    }
    backdrop.hidden = false
    const style = getComputedStyle(this.el)
    for (const prop of COPIED_STYLES) backdrop.style[prop] = style[prop]
    backdrop.style.whiteSpace = this.multiline ? 'pre-wrap' : 'pre'
    const text = this.el.value
    const len = text.length
    const ranges = this.remote.map((c) => ({
      ...c,
      from: Math.min(Math.max(0, Math.min(c.anchor, c.head)), len),
      to: Math.min(Math.max(0, Math.max(c.anchor, c.head)), len),
      at: Math.min(Math.max(0, c.head), len)
    }))
    const points = new Set([0, len])
    for (const r of ranges) { points.add(r.from); points.add(r.to); points.add(r.at) }
    const sorted = [...points].sort((a, b) => a - b)
    for (let i = 0; i < sorted.length; i++) {
      const p = sorted[i]
      for (const r of ranges) {
        if (r.at === p) {
          const caret = document.createElement('span')
          caret.className = 'remote-caret'
          caret.style.borderColor = r.color
          caret.title = r.name
          backdrop.append(caret)
        }
      }
      const next = sorted[i + 1]
      if (next === undefined || next === p) continue
      const segment = text.slice(p, next)
      const cover = ranges.find((r) => r.from <= p && r.to >= next && r.from !== r.to)
      if (cover) {
        const mark = document.createElement('mark')
        mark.className = 'remote-selection'
        mark.style.background = `${cover.color}40`
        mark.textContent = segment
        backdrop.append(mark)
      } else {
        backdrop.append(document.createTextNode(segment))
      }
    }
    backdrop.append(document.createTextNode('\u200b'))
    this._syncScroll()
  }

  destroy () {
    this.ytext.unobserve(this._observer)
    const el = this.el
    el.removeEventListener('input', this._onInput)
    for (const ev of ['select', 'keyup', 'mouseup', 'focus']) el.removeEventListener(ev, this._onSelect)
    el.removeEventListener('scroll', this._onScroll)
    el.removeEventListener('keydown', this._onKeydown)
    el.removeEventListener('beforeinput', this._onBeforeInput)
    this.undoManager.destroy()
  }
}
