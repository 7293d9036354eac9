"""The committee's rules: states and the one door, resolutions, appeals, clocks."""
