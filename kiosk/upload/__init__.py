"""Handing the spool to the library system when it is back: SIP2 store-and-forward replay,
exactly once, with a report of what it accepted."""
