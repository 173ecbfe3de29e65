// Notices from the server (docs/collaboration.md, "Notices"): an AUTH permission-denied message
// whose reason is the JSON object {"code": "read_only", "message": "Lecture seule : ..."}. The
// editor decides on the code only; the message (French) is what people read, so rewording it on
// the server changes nothing here.

/**
 * What the session does with each code (editor/collab/protocol.py NoticeCode,
 * server/collab/notices.py PpaNoticeCode):
 * - readonly: the connection is read-only, the message says why;
 * - locked: the PPA was locked (validated): read-only;
 * - rights: reconnecting gives more rights (the editor offers to reconnect);
 * - refused: a write was refused (not applied, the connection turned read-only): our replica holds
 *   changes the server will never take, the editor reopens on a fresh copy;
 * - notice: shown, nothing else changes (also any code this editor does not know).
 */
export const NOTICE_ACTIONS = Object.freeze({
  read_only: 'readonly',
  rights_reduced: 'readonly',
  locked: 'locked',
  layout_repaired: 'notice',
  rights_changed: 'rights',
  own_fields_only: 'refused',
  avenant_scope: 'refused',
  write_incomplete: 'refused',
  layout_refused: 'refused',
  illegal_text: 'refused'
})

/**
 * The notice of a permission-denied reason. A reason that is not such an object (a server older
 * than the codes sent a bare French sentence) is a read-only notice with that text.
 * @param {string} reason
 * @returns {{code: string, message: string}}
 */
export function parseNotice (reason) {
  try {
    const value = JSON.parse(reason)
    if (value !== null && typeof value === 'object' && typeof value.code === 'string' &&
        typeof value.message === 'string') {
      return { code: value.code, message: value.message }
    }
  } catch { /* a bare sentence */ }
  return { code: 'read_only', message: reason }
}

/**
 * What to do with a notice of this code (see NOTICE_ACTIONS); 'notice' for an unknown one.
 * @param {string} code
 */
export function noticeAction (code) {
  return Object.hasOwn(NOTICE_ACTIONS, code) ? NOTICE_ACTIONS[code] : 'notice'
}
