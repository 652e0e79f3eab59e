"""Field assessment (实地测评): rounds, checklists, assessments and the problems their fails file."""
