"""What a verification found: findings in English and French, and the printed report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """A broken link: what (``subject``) and why (``problem``), in English and French."""

    subject: str
    problem: str
    subject_fr: str
    problem_fr: str

    def __str__(self) -> str:
        """Return ``subject: problem`` in English."""
        return f"{self.subject}: {self.problem}"

    def fr(self) -> str:
        """Return ``sujet : problème`` in French."""
        return f"{self.subject_fr} : {self.problem_fr}"


@dataclass(frozen=True)
class Report:
    """Outcome of :func:`verify_bundle`: the findings (first = first broken link) and a summary."""

    findings: tuple[Finding, ...]
    ppa_id: str | None = None
    versions: int = 0
    heads: int = 0
    tree_size: int | None = None
    key_id: str | None = None
    checked: tuple[str, ...] = field(default=())
    audit_trail: bool = False
    audit_events: int = 0
    audit_sealed: int = 0
    audit_unsealed: int = 0
    audit_checkpoints: int = 0

    @property
    def ok(self) -> bool:
        """Return whether the bundle is intact."""
        return not self.findings

    @property
    def first_broken(self) -> Finding | None:
        """Return the first broken link, or ``None`` when intact."""
        return self.findings[0] if self.findings else None

    @property
    def exit_code(self) -> int:
        """Return the command's exit status: 0 intact, 1 broken."""
        return 0 if self.ok else 1

    def _render_audit(self) -> str:
        if not self.audit_trail:
            return (
                "Journal d'audit : absent (bundle au format 1).\n"
                "Audit trail: not in the bundle (format 1).\n"
            )
        return (
            f"Journal d'audit du PPA : {self.audit_sealed} événement(s) vérifié(s) "
            f"(scellé(s) dans {self.audit_checkpoints} point(s) de scellement), "
            f"{self.audit_unsealed} non scellé(s).\n"
            f"PPA audit trail: {self.audit_sealed} event(s) verified (sealed in "
            f"{self.audit_checkpoints} checkpoint(s)), {self.audit_unsealed} not sealed yet.\n"
        )

    def render(self) -> str:
        """Return the short French + English report printed by ``ppa audit verify``."""
        if self.ok:
            return (
                f"Bundle d'audit intègre : PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} tête(s) d'arbre signée(s), journal de taille {self.tree_size}.\n"
                f"Audit bundle intact: PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} signed tree head(s), log size {self.tree_size}.\n"
                + self._render_audit()
                + f"Clé / key id : {self.key_id} (à comparer avec la clé publiée / compare it "
                "with the published key)."
            )
        first = self.findings[0]
        more = len(self.findings) - 1
        return (
            f"Bundle d'audit ALTÉRÉ - premier maillon rompu : {first.fr()}"
            + (f" ({more} autre(s) anomalie(s))" if more else "")
            + f"\nAudit bundle BROKEN - first broken link: {first}"
            + (f" ({more} more problem(s))" if more else "")
        )


class BrokenLinkError(Exception):
    """Raised inside the verifier: carries the finding of the first broken link of a step."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


@dataclass
class Subject:
    """What a check is about, in English and French."""

    en: str
    fr: str

    def fail(self, problem: str, problem_fr: str) -> BrokenLinkError:
        """Return the exception naming ``problem`` of this subject."""
        return BrokenLinkError(Finding(self.en, problem, self.fr, problem_fr))
