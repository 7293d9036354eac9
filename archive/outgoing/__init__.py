"""What mail leaving casebook may show: the template catalogue and the leak guard."""
