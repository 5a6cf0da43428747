"""Data files of the service layer (see NOTICE.md for provenance and licence)."""
