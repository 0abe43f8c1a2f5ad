"""Clause lists of the accreditation standards, for a finding's requirement reference.

A finding against the programme's standard names one of these clauses; a finding against a
scheme document, an IAF/ILAC mandatory document or the AB's own rules gives the document and
clause in free text. Headings only (ISO text is copyrighted): enough to pick the requirement.
"""

from __future__ import annotations

CLAUSES: dict[str, list[tuple[str, str]]] = {
    "ISO/IEC 17025:2017": [
        ("4.1", "Impartiality"), ("4.2", "Confidentiality"), ("5", "Structural requirements"),
        ("6.1", "Resources: general"), ("6.2", "Personnel"),
        ("6.3", "Facilities and environmental conditions"), ("6.4", "Equipment"),
        ("6.5", "Metrological traceability"), ("6.6", "Externally provided products and services"),
        ("7.1", "Review of requests, tenders and contracts"),
        ("7.2", "Selection, verification and validation of methods"), ("7.3", "Sampling"),
        ("7.4", "Handling of test or calibration items"), ("7.5", "Technical records"),
        ("7.6", "Evaluation of measurement uncertainty"),
        ("7.7", "Ensuring the validity of results"), ("7.8", "Reporting of results"),
        ("7.9", "Complaints"), ("7.10", "Nonconforming work"),
        ("7.11", "Control of data and information management"),
        ("8.1", "Management system options"), ("8.2", "Management system documentation"),
        ("8.3", "Control of management system documents"), ("8.4", "Control of records"),
        ("8.5", "Actions to address risks and opportunities"), ("8.6", "Improvement"),
        ("8.7", "Corrective actions"), ("8.8", "Internal audits"), ("8.9", "Management reviews"),
    ],
    "ISO/IEC 17020:2012": [
        ("4.1", "Impartiality and independence"), ("4.2", "Confidentiality"),
        ("5.1", "Administrative requirements"), ("5.2", "Organization and management"),
        ("6.1", "Personnel"), ("6.2", "Facilities and equipment"), ("6.3", "Subcontracting"),
        ("7.1", "Inspection methods and procedures"),
        ("7.2", "Handling inspection items and samples"), ("7.3", "Inspection records"),
        ("7.4", "Inspection reports and inspection certificates"),
        ("7.5", "Complaints and appeals"), ("7.6", "Complaints and appeals process"),
        ("8.1", "Management system options"), ("8.2", "Management system documentation"),
        ("8.3", "Control of documents"), ("8.4", "Control of records"),
        ("8.5", "Management review"), ("8.6", "Internal audits"), ("8.7", "Corrective actions"),
        ("8.8", "Preventive actions"),
    ],
    "ISO/IEC 17021-1:2015": [
        ("5.1", "Legal and contractual matters"), ("5.2", "Management of impartiality"),
        ("5.3", "Liability and financing"),
        ("6.1", "Organizational structure and top management"), ("6.2", "Operational control"),
        ("7.1", "Competence of personnel"),
        ("7.2", "Personnel involved in the certification activities"),
        ("7.3", "Use of individual external auditors and external technical experts"),
        ("7.4", "Personnel records"), ("7.5", "Outsourcing"), ("8.1", "Public information"),
        ("8.2", "Certification documents"),
        ("8.3", "Reference to certification and use of marks"), ("8.4", "Confidentiality"),
        ("8.5", "Information exchange between a certification body and its clients"),
        ("9.1", "Pre-certification activities"), ("9.2", "Planning audits"),
        ("9.3", "Initial certification"), ("9.4", "Conducting audits"),
        ("9.5", "Certification decision"), ("9.6", "Maintaining certification"),
        ("9.7", "Appeals"), ("9.8", "Complaints"), ("9.9", "Client records"),
        ("10.2", "Management system requirements: option A"),
        ("10.3", "Management system requirements: option B (ISO 9001)"),
    ],
    "ISO/IEC 17024:2012": [
        ("4.1", "Legal matters"), ("4.2", "Responsibility for decision on certification"),
        ("4.3", "Management of impartiality"), ("4.4", "Finance and liability"),
        ("5.1", "Organizational structure: general"),
        ("5.2", "Structure of the certification body in relation to training"),
        ("6.1", "General requirements for personnel"),
        ("6.2", "Personnel involved in the certification activities"), ("6.3", "Outsourcing"),
        ("6.4", "Other resources"),
        ("7.1", "Records of applicants, candidates and certified persons"),
        ("7.2", "Public information"), ("7.3", "Confidentiality"), ("7.4", "Security"),
        ("8", "Certification schemes"), ("9.1", "Application process"),
        ("9.2", "Assessment process"), ("9.3", "Examination process"),
        ("9.4", "Decision on certification"),
        ("9.5", "Suspending, withdrawing or reducing the scope of certification"),
        ("9.6", "Recertification process"), ("9.7", "Use of certificates, logos and marks"),
        ("9.8", "Appeals against decisions on certification"), ("9.9", "Complaints"),
        ("10.2.2", "Management system documentation"), ("10.2.3", "Control of documents"),
        ("10.2.4", "Control of records"), ("10.2.5", "Management review"),
        ("10.2.6", "Internal audits"), ("10.2.7", "Corrective actions"),
        ("10.2.8", "Preventive actions"), ("10.3", "Management system: option B"),
    ],
}


def standard_label(standard: str, edition: str | None) -> str:
    return f"{standard}:{edition}" if edition else standard


def clauses_for(standard: str) -> list[tuple[str, str]]:
    """The clause list of ``"ISO/IEC 17025:2017"``; empty for an edition without one (its
    findings name the clause in free text)."""
    return CLAUSES.get(standard, [])


def clause_label(standard: str, clause: str) -> str:
    title = dict(clauses_for(standard)).get(clause)
    return f"{clause} {title}" if title else clause
