"""What the council and the public are told periodically: digest and reports."""
