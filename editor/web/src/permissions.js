// What the UI lets each role edit; it mirrors what the server enforces on the live document
// (server/collab): writers edit everything, read-only connections nothing, and the person and
// their aidant only their own expression fields.
export const WRITER_ROLES = new Set(['coordinator', 'contributor'])
export const OWN_FIELD_ROLES = new Set(['person', 'aidant'])

const READ_ONLY_REASONS = {
  reader: 'Vous consultez ce PPA en lecture seule (rôle « lecture » dans le cercle).',
  esms: 'Système de structure : consultation des versions validées uniquement.',
  auditor: 'Audit : consultation de l\'historique uniquement, sans modification.',
  none: 'Vous ne pouvez pas modifier ce PPA.'
}

export const LOCKED_REASON = 'Ce PPA est validé et verrouillé : personne ne peut plus le modifier. ' +
  'Pour changer les modalités d\'accompagnement, ouvrez un avenant ; pour un nouveau projet, une révision.'

// An ESMS and an auditor only ever see validated (locked) PPAs: the lock's advice (open an
// avenant) is not for them; their own reason says why they read.
const HISTORY_ONLY_ROLES = new Set(['esms', 'auditor'])

/**
 * Why a role sees a locked PPA read-only.
 * @param {string} role
 * @returns {string}
 */
export function lockedReasonFor (role) {
  return HISTORY_ONLY_ROLES.has(role) ? READ_ONLY_REASONS[role] : LOCKED_REASON
}

/**
 * {mode: 'edit' | 'own' | 'read', reason} for a role on a PPA.
 * @param {{locked?: boolean, status: string, my_role: string}} ppa the API's PPA
 * @returns {{mode: 'edit' | 'own' | 'read', reason: string | null, locked: boolean}}
 */
export function modeFor (ppa) {
  const locked = ppa.locked || ppa.status === 'validated' || ppa.status === 'superseded'
  if (locked) return { mode: 'read', reason: lockedReasonFor(ppa.my_role), locked: true }
  const role = ppa.my_role
  if (WRITER_ROLES.has(role)) return { mode: 'edit', reason: null, locked: false }
  if (OWN_FIELD_ROLES.has(role)) {
    return {
      mode: 'own',
      reason: role === 'person'
        ? 'Vous pouvez écrire votre projet de vie, vos attentes et votre avis sur chaque objectif et chaque action. Le reste est rédigé par l\'équipe.'
        : 'En tant qu\'aidant, vous pouvez écrire pour la personne son projet de vie, ses attentes et celles de son entourage, et son avis sur chaque objectif et chaque action. Le reste est rédigé par l\'équipe.',
      locked: false
    }
  }
  return { mode: 'read', reason: READ_ONLY_REASONS[role] || READ_ONLY_REASONS.none, locked: false }
}

export const OWN_ORIGINS = new Set(['personne', 'entourage'])

/** The person's and aidant's own fields (fieldKey "root/id/key"), as server/collab/policy.py
 * enforces them: the projet de vie, the attentes whose origine is "personne" or "entourage" (create, edit, delete,
 * origine among those two), the avis_usager of every objectif and action and the accord_usager of
 * every objectif.
 * @param {string} fieldKey
 * @param {{origine?: string}} [item] what the field's item holds (an attente's origine)
 * @returns {boolean}
 */
export function ownFieldWritable (fieldKey, { origine } = {}) {
  const parts = fieldKey.split('/')
  if (fieldKey === 'projet_de_vie') return true
  if (parts[0] === 'attentes') return OWN_ORIGINS.has(origine) && (parts[2] === 'texte' || parts[2] === 'origine')
  if ((parts[0] === 'objectifs' || parts[0] === 'actions') && parts[2] === 'avis_usager') return true
  if (parts[0] === 'objectifs' && parts[2] === 'accord_usager') return true
  return false
}
