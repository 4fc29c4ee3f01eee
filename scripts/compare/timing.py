"""Best-of-R wall time after one warm-up call, shared by the peer-timing scripts."""
import time


def best(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)
