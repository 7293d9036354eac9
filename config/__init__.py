"""The example configuration, shipped in the distribution as the package `casebook.examples`."""
