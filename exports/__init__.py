"""Pure renderers of an immutable PPA version (PDF, DOCX, FALC, TDDUI FHIR, CDA/XDM, agenda, MDPH).

No HTTP, no SQL, no server import: ``server -> exports -> versions -> editor``. Every renderer
takes an :class:`exports.context.ExportInput` and returns bytes; :mod:`exports.registry` maps
format names to renderers, media types and extensions.
"""
