"""Accounts, login, password reset, invitations and memberships."""
