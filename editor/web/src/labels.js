// French labels of the enums of the content model and the API.
import catalogue from './generated/catalogue.json'

export const ROLE_LABELS = {
  coordinator: 'Coordination',
  contributor: 'Contribution',
  reader: 'Lecture',
  person: 'Personne accompagnée',
  aidant: 'Aidant',
  esms: 'Système de structure (ESMS)',
  auditor: 'Audit'
}

export const PPA_STATUS_LABELS = {
  draft: 'Brouillon',
  validated: 'Validé',
  avenant_draft: 'Avenant en préparation',
  superseded: 'Remplacé'
}

// Labels of the content model's enums: generated at build time from editor/catalogue.py
// (build.mjs runs `python -m editor.catalogue --json`); never copy them here.
const { enum_labels: ENUMS, frequence_units: UNITS } = catalogue

export const ORIGINE_LABELS = ENUMS.OrigineAttente
export const STATUT_OBJECTIF_LABELS = ENUMS.StatutObjectif
export const STATUT_ACTION_LABELS = ENUMS.StatutAction
export const FREQUENCE_LABELS = ENUMS.Frequence
export const FREQUENCE_UNITS = UNITS
/** [code, name, three-letter abbreviation] of every day, Monday first. */
export const JOURS = Object.entries(ENUMS.Jour).map(([code, name]) => [code, name, name.slice(0, 3)])
export const TYPE_MOYEN_LABELS = ENUMS.TypeMoyen
export const ACCORD_TYPE_LABELS = ENUMS.TypeAccord
export const ACCORD_MODE_LABELS = ENUMS.ModeAccord

export const SERAFIN_KIND_LABELS = {
  besoin: 'Besoin',
  prestation_directe: 'Prestation directe',
  prestation_indirecte: 'Prestation indirecte'
}

export function roleLabel (role) {
  return ROLE_LABELS[role] || role || 'aucun rôle'
}

export function personName (person) {
  const family = person.used_name || person.birth_family_name
  return `${person.first_names.split(' ')[0]} ${family}`
}
