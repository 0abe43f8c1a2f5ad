"""Conformity assessment bodies: legal entities, their locations and contacts."""
