"""Digests: what goes in for each recipient (build), how it reads (render), the message (compose)."""
