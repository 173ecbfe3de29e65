// Characters no text of a PPA may hold (editor/text_rules.py is the rule; the server refuses a
// live write that carries one and turns the connection read-only): C0 controls other than tab,
// line feed and carriage return, lone surrogates, Unicode noncharacters. A paste from another
// program can carry them unseen, so the editor drops them before they reach the document.

const PLANE_ENDS = Array.from({ length: 17 }, (_, plane) => `\\u{${(plane * 0x10000 + 0xfffe).toString(16)}}\\u{${(plane * 0x10000 + 0xffff).toString(16)}}`).join('')
// With the `u` flag a surrogate range matches lone surrogates only (pairs are one code point).
const ILLEGAL = new RegExp(`[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uD800-\\uDFFF\\uFDD0-\\uFDEF${PLANE_ENDS}]`, 'gu')

/**
 * `text` without the characters the server refuses.
 * @param {string} text
 * @returns {string}
 */
export function withoutIllegalChars (text) {
  return text.replace(ILLEGAL, '')
}
