"""The composition root: the `casebook` command line and the wiring of intake, archive, mailer."""
