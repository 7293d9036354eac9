"""The record: the archive's storage, sole writer of the shared tables (see `owners`)."""
