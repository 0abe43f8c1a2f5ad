"""Appeals against decisions (and, where the tenant allows, nonconformities), challenges of
nonconformities otherwise (17011 7.13, rules 23, 24)."""
