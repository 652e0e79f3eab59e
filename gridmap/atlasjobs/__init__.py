"""County atlas jobs in the database: one table every app server reads, claims and updates."""
