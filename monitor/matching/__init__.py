"""Matching: rule files compiled once, then every article scanned against all rules in one pass."""
