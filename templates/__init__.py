"""casebook's default templates, shipped in the distribution as the package `mailer.templates`."""
