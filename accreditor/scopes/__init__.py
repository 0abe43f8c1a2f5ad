"""Accreditations and their typed scopes of accreditation, with the scope history."""
