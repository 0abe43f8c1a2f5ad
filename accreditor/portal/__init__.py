"""The CAB portal: a CAB user's own accreditations, scopes and applications."""
