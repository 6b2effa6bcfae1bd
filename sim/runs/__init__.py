"""Running many replications: the worker pool and the ordered, bounded task stream."""
