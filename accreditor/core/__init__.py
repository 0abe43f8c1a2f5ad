"""Cross-cutting machinery: database base, tenancy, permissions, audit, jobs, mail, errors."""
