"""Complaints about an accredited CAB or about the AB itself (17011 7.13, rule 25)."""
