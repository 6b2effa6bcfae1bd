"""Closed-form results the simulation is validated against."""

from __future__ import annotations

import math
from collections.abc import Iterable


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue (Erlang C); ``offered_load`` = lambda/mu."""
    c, a = servers, offered_load
    if a >= c:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    top = term * a / c / (1.0 - a / c)  # a^c / c! * c/(c-a)
    return top / (total + top)


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue W_q = C(c, a) / (c mu - lambda), in the time unit of the rates."""
    if arrival_rate >= servers * service_rate:
        return math.inf
    return erlang_c(servers, arrival_rate / service_rate) / (servers * service_rate - arrival_rate)


def false_failure_prob(per_job: Iterable[float]) -> float:
    """P(at least one job fails falsely) = 1 - prod(1 - p_j)."""
    log_pass = sum(math.log1p(-p) for p in per_job)
    return 1.0 - math.exp(log_pass)
