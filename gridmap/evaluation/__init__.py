"""Indicators, scores, the monthly ranking and the mobile red flag of grid work (issue 13)."""
