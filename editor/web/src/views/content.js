// Read-only rendering of a version's content (the JSON of the content model), e.g. to open an
// old version from the history panel.
import { formatDate, h } from '../dom.js'
import {
  ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS, FREQUENCE_LABELS, JOURS, ORIGINE_LABELS, STATUT_ACTION_LABELS,
  STATUT_OBJECTIF_LABELS, TYPE_MOYEN_LABELS
} from '../labels.js'

function pair (label, value) {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return null
  return [h('dt', {}, label), h('dd', {}, value)]
}

function dl (...pairs) {
  return h('dl', { class: 'version-dl' }, pairs.filter(Boolean))
}

export function renderContent (content, { serafin, memberName }) {
  const code = (c) => serafin.describe(c)
  const besoinName = (id) => {
    const b = content.besoins.find((x) => x.id === id)
    return b ? (b.code ? code(b.code) : b.description || 'Besoin') : 'besoin supprimé'
  }
  const objectifName = (id) => content.objectifs.find((x) => x.id === id)?.titre || 'objectif supprimé'
  const planning = (p) => {
    if (!p) return null
    const jours = p.jours.map((j) => JOURS.find(([c]) => c === j)?.[1] || j).join(', ')
    return [
      FREQUENCE_LABELS[p.frequence] + (p.intervalle > 1 ? ` (tous les ${p.intervalle})` : ''),
      jours, p.heure_debut ? `à ${p.heure_debut}` : '', p.duree_minutes ? `${p.duree_minutes} min` : '', p.lieu
    ].filter(Boolean).join(' · ')
  }
  const p = content.projet
  return h('div', { class: 'version-content' },
    h('h3', {}, 'Projet'),
    dl(pair('Titre', p.titre), pair('Période', [formatDate(p.date_debut), formatDate(p.date_fin)].filter(Boolean).join(' → ')),
      pair('Modalité de communication', p.modalite_communication)),
    h('h3', {}, 'Projet de vie'), h('p', { class: 'ro-value' }, content.projet_de_vie || '—'),
    h('h3', {}, 'Attentes'),
    h('ul', {}, content.attentes.map((a) => h('li', {}, `${ORIGINE_LABELS[a.origine]} : ${a.texte}`))),
    h('h3', {}, 'Besoins'),
    h('ul', {}, content.besoins.map((b) => h('li', {}, b.code ? code(b.code) : 'Non codé', b.description ? ` — ${b.description}` : ''))),
    h('h3', {}, 'Objectifs'),
    content.objectifs.map((o, i) => h('div', { class: 'version-item' },
      h('h4', {}, `Objectif ${i + 1} : ${o.titre}`),
      dl(pair('Description', o.description), pair('Besoin', o.besoin_ids.map(besoinName).join(' ; ')),
        pair('Échéance', formatDate(o.date_echeance)), pair('Résultat attendu', o.resultat_attendu),
        pair('Référent', o.referent_id ? memberName(o.referent_id) : ''), pair('Statut', STATUT_OBJECTIF_LABELS[o.statut]),
        pair('Avis de la personne', o.avis_usager)))),
    h('h3', {}, 'Actions'),
    content.actions.map((a, i) => h('div', { class: 'version-item' },
      h('h4', {}, `Action ${i + 1} : ${a.titre}`),
      dl(pair('Description', a.description), pair('Objectifs', a.objectif_ids.map(objectifName).join(' ; ')),
        pair('Prestations', a.prestations.map(code).join(' ; ')), pair('Référent', a.referent_id ? memberName(a.referent_id) : ''),
        pair('Période', [formatDate(a.date_debut), formatDate(a.date_fin)].filter(Boolean).join(' → ')),
        pair('Planning', planning(a.planning)), pair('Statut', STATUT_ACTION_LABELS[a.statut]),
        pair('Avis de la personne', a.avis_usager)))),
    h('h3', {}, 'Moyens'),
    h('ul', {}, content.moyens.map((m) => h('li', {}, `${TYPE_MOYEN_LABELS[m.type]} : ${m.description}`))),
    h('h3', {}, 'Bilan'),
    dl(pair("Date de l'évaluation", formatDate(content.bilan.date_evaluation)), pair('Prochaine révision', formatDate(content.bilan.prochaine_revision)),
      pair('Notes de préparation', content.bilan.notes_preparation)),
    h('h3', {}, 'Accords'),
    h('ul', {}, content.accords.map((a) => h('li', {},
      `${ACCORD_TYPE_LABELS[a.type]} : ${ACCORD_MODE_LABELS[a.mode]}`, a.par ? `, par ${memberName(a.par)}` : '',
      a.temoin ? `, témoin : ${a.temoin}` : '', a.date ? `, le ${formatDate(a.date)}` : '', a.motif ? ` — ${a.motif}` : ''))))
}
