"""Device adapters: scanners and printers. They know nothing about libraries."""
