"""FHIR R4 API (/fhir): read CarePlan (TDDUI) and CareTeam (CDS)."""
