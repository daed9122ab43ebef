"""The loop that feeds events to the core and carries out its effects."""
