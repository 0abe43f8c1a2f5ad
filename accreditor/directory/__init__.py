"""The public projection of accreditations: directory entries written when a decision is
published, the only thing public pages read (17011 7.8, rules 20, 26, 27)."""
