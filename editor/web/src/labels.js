// French labels of the enums of the content model and the API.
import catalogue from './generated/catalogue.json'

// Every label is generated at build time from editor/catalogue.py and server/labels.py
// (build.mjs runs `python -m server.labels --json`); never copy one here.
const { enum_labels: ENUMS, frequence_units: UNITS } = catalogue

export const ROLE_LABELS = catalogue.role_labels
export const PPA_STATUS_LABELS = catalogue.ppa_status_labels
export const VERSION_KIND_LABELS = catalogue.version_kind_labels
/** A legal representative's protection measure (tutelle, curatelle...). */
export const MEASURE_LABELS = catalogue.measure_labels
/** Export formats (exports/registry.py): name, label, drafts_allowed, avenant_only. */
export const EXPORT_FORMATS = catalogue.export_formats
/** Fields of an objective an avenant may update (versions/lifecycle.py AVENANT_OBJECTIF_FIELDS). */
export const AVENANT_OBJECTIF_FIELDS = new Set(catalogue.avenant_objectif_fields)

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
export const PRESENCE_LABELS = ENUMS.PresenceReunion
export const BESOIN_COMMUNICATION_LABELS = ENUMS.BesoinCommunication
export const ACCORD_OBJECTIF_LABELS = ENUMS.AccordObjectif
export const PRIORITE_LABELS = ENUMS.Priorite
export const RESULTAT_LABELS = ENUMS.ResultatObjectif
export const MODALITE_GROUPE_LABELS = ENUMS.ModaliteGroupe
export const MODALITE_LIEU_LABELS = ENUMS.ModaliteLieu
export const DECISION_ESSAI_LABELS = ENUMS.DecisionEssai

export const SERAFIN_KIND_LABELS = catalogue.serafin_kind_labels
/** The TRE_R390 type codes of a projet (PPA, PP, PAI...) and their official displays. */
export const PROJET_TYPE_LABELS = catalogue.projet_type_labels
/** Severity of a validation problem: "bloquant" refuses the validation, "a_verifier" does not. */
export const PROBLEM_SEVERITY_LABELS = catalogue.problem_severity_labels

export function roleLabel (role) {
  return ROLE_LABELS[role] || role || 'aucun rôle'
}

export function personName (person) {
  const family = person.used_name || person.birth_family_name
  return `${person.first_names.split(' ')[0]} ${family}`
}
