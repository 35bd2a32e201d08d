#!/usr/bin/env python3
"""SimPy peer, model (a): M/M/1 at utilisation 0.9.

Poisson arrivals at 900/s, one server (simpy.Resource, capacity 1),
exponential service with mean 1 ms, unbounded FIFO queue.
Theory: mean sojourn = 1 / (1000 - 900) s = 10 ms.

Usage: simpy_mm1.py N [SEED]
Runs until N requests have completed; prints one JSON line.
"""
import json
import random
import sys
import time

import simpy

ARRIVAL_RATE = 900.0
SERVICE_RATE = 1000.0


def customer(env, server, rng, sojourns, n_target, done):
    arrived = env.now
    with server.request() as req:
        yield req
        yield env.timeout(rng.expovariate(SERVICE_RATE))
    sojourns.append(env.now - arrived)
    if len(sojourns) == n_target:
        done.succeed()


def source(env, server, rng, sojourns, n_target, done):
    while True:
        yield env.timeout(rng.expovariate(ARRIVAL_RATE))
        env.process(customer(env, server, rng, sojourns, n_target, done))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)

    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    sojourns = []
    done = env.event()
    env.process(source(env, server, rng, sojourns, n, done))

    t0 = time.process_time()
    env.run(until=done)
    cpu = time.process_time() - t0

    print(json.dumps({
        "engine": "simpy " + simpy.__version__,
        "model": "mm1",
        "completed": len(sojourns),
        "cpu_s": round(cpu, 4),
        "per_cpu_s": round(len(sojourns) / cpu, 1),
        "mean_sojourn_s": sum(sojourns) / len(sojourns),
        "sim_time_s": env.now,
    }))


if __name__ == "__main__":
    main()
