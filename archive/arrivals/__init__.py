"""What arriving mail does: ingest, threading, reports and follow-ups, held mail."""
