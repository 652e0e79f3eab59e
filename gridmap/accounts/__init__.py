"""Accounts' data layer: the tables of users, sessions, tokens and keys, and rate-limit hits."""
