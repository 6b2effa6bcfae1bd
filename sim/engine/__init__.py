"""The engine room: the clock (SimPy's time and event heap), named random streams, the working week."""
