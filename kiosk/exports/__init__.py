"""Files the library system imports: Koha .koc, CSV and JSON lines."""
