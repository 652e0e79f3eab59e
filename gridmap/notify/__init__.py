"""Notifications: an outbox written with the event, an in-app inbox, and delivery by email and webhook."""
