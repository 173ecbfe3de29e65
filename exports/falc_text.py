"""Deterministic easy-to-read (FALC) French from the professional wording of a PPA.

The person's own words (projet de vie, her attentes, her avis) are quoted as she said them. What
only exists in professional wording (objective and action titles) is rewritten, never copied:
addressed to the person ("Vous voulez...", "Vous allez..."), possessives and reflexive pronouns
turned to the second person ("son traitement" -> "votre traitement", "se déplacer" -> "vous
déplacer"), jargon replaced from :data:`PLAIN_WORDS` ("en autonomie" -> "par vous-même"),
codes and abbreviations in brackets removed, one short sentence per line (:func:`short_lines`).
"""

from __future__ import annotations

import re

MAX_WORDS = 15
"""Words per line at most (FALC guides advise short sentences; the tests hold every line to it)."""

PLAIN_WORDS: tuple[tuple[str, str], ...] = (
    (r"\ben autonomie\b", "par vous-même"),
    (r"\bde (?:façon|manière) autonome\b", "par vous-même"),
    (r"\bautonomie\b", "faire seul"),
    (r"\bhebdomadaires?\b", "chaque semaine"),
    (r"\bquotidien(?:ne)?s?\b", "de tous les jours"),
    (r"\bmensuel(?:le)?s?\b", "chaque mois"),
    (r"\bappartement inclusif\b", "appartement partagé avec de l'aide"),
    (r"\bhabitat inclusif\b", "logement partagé avec de l'aide"),
    (r"\bappartement d'entraînement\b", "appartement pour vous entraîner"),
    (r"\béducation thérapeutique\b", "apprendre à soigner sa maladie"),
    (r"\bautosurveillance\b", "surveiller sa santé"),
    (r"\bactivité de loisirs\b", "activité que vous aimez"),
    (r"\bentretiens? de soutien\b", "rendez-vous pour parler de ce que vous vivez"),
    (r"\bavec une correspondance\b", "en changeant de tram"),
    (r"\bsocialisation\b", "rencontrer des gens"),
    (r"\binsertion professionnelle\b", "trouver un travail"),
    (r"\bprise en charge\b", "aide"),
    (r"\bréférent\b", "personne qui vous suit"),
)

NOUN_VERBS: tuple[tuple[str, str], ...] = (
    (r"^(?:point|bilan) ", "faire un point "),
    (r"^atelier ", "participer à l'atelier "),
    (r"^entraînement (?=a|à)", "vous entraîner "),
    (r"^gestion du ", "gérer le "),
    (r"^gestion des ", "gérer les "),
    (r"^gestion de ", "gérer "),
    (r"^préparation (?=du|de)", "préparer "),
    (r"^participation (?=à|au)", "participer "),
    (r"^accompagnement (?=à|au)", "être accompagné "),
    (r"^apprentissage (?=du|de)", "apprendre "),
    (r"^rendez-vous ", "aller à des rendez-vous "),
)
"""Leading nouns of action titles -> a verb the person does."""

SECOND_PERSON: tuple[tuple[str, str], ...] = (
    (r"\bson\b", "votre"),
    (r"\bsa\b", "votre"),
    (r"\bses\b", "vos"),
    (r"\bsoi-même\b", "vous-même"),
    (r"\b(?:lui|elle)-même\b", "vous-même"),
    (r"^se ", "vous "),
    (r"^s'", "vous "),
    (r"\bà se ", "à vous "),
    (r"\bsa maladie\b", "votre maladie"),
    (r"\bsa santé\b", "votre santé"),
)
CODES = re.compile(r"\s*\((?:[^()]*\d[^()]*|[A-Z]{2,}[^()]*)\)|\b\d+(?:\.\d+)+\b")
"""Bracketed codes or abbreviations ("(SERAFIN 1.3.2)", "(IDE)") and dotted codes ("2.1.1")."""
INFINITIVE = re.compile(r"^(?:vous |s'|se )?\w+(?:er|ir|re|oir)\b", re.IGNORECASE)


def _sub_all(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, plain in rules:
        text = re.sub(pattern, plain, text, flags=re.IGNORECASE)
    return text


def _clean(text: str) -> str:
    text = CODES.sub("", " ".join(text.split()))
    text = text.replace(" : ", ", ").strip(" .;:,")
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) == 1 else text


def plain_phrase(text: str) -> str:
    """``text`` without codes and jargon, in the second person (no final full stop)."""
    text = _sub_all(_clean(text), PLAIN_WORDS)
    text = _sub_all(text, SECOND_PERSON)
    return " ".join(text.split())


def objective_sentence(title: str) -> str:
    """ "Vous voulez gérer votre traitement du soir par vous-même." from the objective's title."""
    phrase = plain_phrase(title)
    if not phrase:
        return ""
    if INFINITIVE.match(phrase):
        return f"Vous voulez {phrase}."
    return f"Votre objectif : {phrase}."


def action_sentence(title: str) -> str:
    """ "Vous allez gérer le budget courses." from an action's title."""
    phrase = _sub_all(_sub_all(_clean(title), PLAIN_WORDS), NOUN_VERBS)
    phrase = " ".join(_sub_all(phrase, SECOND_PERSON).split())
    if not phrase:
        return ""
    if INFINITIVE.match(phrase) or phrase.startswith(("faire ", "aller ", "être ")):
        return f"Vous allez {phrase}."
    return f"Activité : {phrase}."


def short_lines(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """``text`` cut into sentences, and a long sentence at its commas (then at ``max_words``
    words), one per line, each ending with a punctuation mark."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = sentence.split()
        if len(words) <= max_words:
            out.append(sentence)
            continue
        parts = [p.strip() for p in re.split(r"(?<=,)\s+|\s+(?=et\s)", sentence) if p.strip()]
        chunk: list[str] = []
        for part in parts:
            part_words = part.split()
            if chunk and len(chunk) + len(part_words) > max_words:
                out.append(" ".join(chunk))
                chunk = []
            chunk += part_words
            while len(chunk) > max_words:
                out.append(" ".join(chunk[:max_words]))
                chunk = chunk[max_words:]
        if chunk:
            out.append(" ".join(chunk))
    return [_end(line) for line in out]


def _end(line: str) -> str:
    line = line.rstrip(" ,;:")
    return line if line[-1:] in ".!?…»" else line + "."
