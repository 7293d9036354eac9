"""The `casebook` subcommands, one module each: `add_parser(commands)` defines its options
next to `run(args)`, which does it and returns the exit code. `casebook/cli.py` lists them.

A module imports at its top only what every command may load (argparse's options, the
configuration, the read-only archive): anything heavier is imported inside `run`, so that
`casebook cases` and `show` start fast (docs/developers/testing.md; tests/service/test_readers.py).
"""
