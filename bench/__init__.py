"""Benchmarks: `python -m bench [name ...]` (see bench/__main__.py)."""


def own_peak_rss_mb() -> float:
    """This process's own peak RSS in MB (VmHWM). Not ``ru_maxrss``: Linux carries that across
    exec from the parent, so a child of a big process would report the parent's size."""
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
