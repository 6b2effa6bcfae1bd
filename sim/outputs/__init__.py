"""Outputs: figure style, finding sentences, drawing, the figures command, run reports."""
