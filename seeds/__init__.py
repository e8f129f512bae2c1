"""Bundled seed data: the 2015 Al-Monitor article's claims and the offline news archive."""
