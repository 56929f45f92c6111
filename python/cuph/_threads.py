"""How many threads ``n_threads=None`` means: the cores this process may run on."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask: what ``taskset``, cpusets, SLURM
    and container runtimes restrict), not the machine's count; at least 1.

    A job given 4 of 128 cores starts 4 threads per call instead of 128 time-sliced ones.
    (CPU quotas without an affinity mask are not visible here; pass ``n_threads`` there.)

    >>> usable_cores() >= 1
    True
    """
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        n = count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count()
    return max(1, int(n or 1))
