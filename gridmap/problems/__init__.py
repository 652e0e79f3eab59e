"""Problem reports: capture, assignment, workflow, photos, lists, Open311 and the map overlay."""
