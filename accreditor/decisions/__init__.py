"""Accreditation decisions (ISO/IEC 17011 7.7, 7.10–7.11): the queue of recommendations, the
independent decision and what it does to the scope, the status, the cycle and the schedule."""
