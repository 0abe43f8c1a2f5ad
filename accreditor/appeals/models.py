"""Models of appeals (filled in by its issue)."""
