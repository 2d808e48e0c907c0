"""Orchestration, outputs and the command line over the scanner."""
