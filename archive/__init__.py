"""The committee's record and rules: the only owner of the SQLite archive. Imports nothing of ours.

`record/` stores (and alone writes the shared tables, see `record/owners.py`), `arrivals/` is what
arriving mail does, `workflow/` the committee's rules and clocks, `outgoing/` what mail leaving
may show, `summaries/` the digest and reports, `commands/` one module per keyword.
"""
