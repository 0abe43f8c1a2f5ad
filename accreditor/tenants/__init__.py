"""Tenants (accreditation bodies), their policy settings and the tenant URL space."""
