"""Assessment programme and planning: assessor register, assessments, teams, witnessing."""
