"""Delivery: a frozen message handed to an SMTP server, or written to the outbox folder."""
