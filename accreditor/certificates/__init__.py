"""Certificates and schedules of accreditation rendered as PDF by a background job."""
