"""The simulation model: changes and their records, the people and pipelines they pass through
(arrivals, reviewers, review boards, the lifecycle, CI, the gate), the world that assembles one
replication, and the policy seam the model calls. Every step is a plain call scheduled on the
clock (:mod:`sim.engine.clock`); there are no SimPy processes."""
