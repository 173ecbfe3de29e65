// French labels of the enums of the content model and the API.
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

export const ORIGINE_LABELS = {
  personne: 'La personne',
  entourage: "L'entourage",
  professionnel: 'Un professionnel'
}

export const STATUT_OBJECTIF_LABELS = {
  en_preparation: 'En préparation',
  actif: 'Actif',
  termine: 'Terminé',
  annule: 'Annulé'
}

export const STATUT_ACTION_LABELS = {
  en_preparation: 'En préparation',
  essai: "À l'essai",
  actif: 'Actif',
  termine: 'Terminé',
  annule: 'Annulé'
}

export const FREQUENCE_LABELS = {
  ponctuelle: 'Ponctuelle',
  quotidienne: 'Quotidienne',
  hebdomadaire: 'Hebdomadaire',
  mensuelle: 'Mensuelle'
}

export const FREQUENCE_UNITS = {
  ponctuelle: 'fois',
  quotidienne: 'jour(s)',
  hebdomadaire: 'semaine(s)',
  mensuelle: 'mois'
}

export const JOURS = [
  ['MO', 'Lundi', 'Lun'],
  ['TU', 'Mardi', 'Mar'],
  ['WE', 'Mercredi', 'Mer'],
  ['TH', 'Jeudi', 'Jeu'],
  ['FR', 'Vendredi', 'Ven'],
  ['SA', 'Samedi', 'Sam'],
  ['SU', 'Dimanche', 'Dim']
]

export const TYPE_MOYEN_LABELS = {
  humain: 'Humain',
  materiel: 'Matériel',
  financier: 'Financier',
  autre: 'Autre'
}

export const ACCORD_TYPE_LABELS = { structure: 'Accord de la structure', personne: 'Accord de la personne' }

export const ACCORD_MODE_LABELS = {
  signe: 'Signé',
  oral: 'Oral (avec témoin)',
  refuse: 'Refusé',
  non_sollicite: 'Non sollicité'
}

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
