"""Models of certificates (filled in by its issue)."""
