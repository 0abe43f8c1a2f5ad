"""Models of directory (filled in by its issue)."""
