"""Documents: uploaded files attached to applications (and, later, findings evidence)."""
