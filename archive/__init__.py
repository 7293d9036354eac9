"""The committee's record: the only owner of the SQLite archive. Imports nothing of ours."""
