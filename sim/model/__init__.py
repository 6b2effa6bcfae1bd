"""The simulation model: SimPy processes and the plain rules they consult."""
