"""Outputs: figure style, the data each figure shows, finding sentences, drawing, the figures command, run reports."""
