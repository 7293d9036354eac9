"""Turns bytes from a socket, a mailbox or a file into archive calls. Never sends mail itself."""
