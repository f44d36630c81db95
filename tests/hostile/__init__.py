"""Attacks replayed against a real broker and hub: each must be refused or harmless."""
