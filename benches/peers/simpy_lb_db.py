#!/usr/bin/env python3
"""SimPy peer, model (b): load balancer -> 4 x M/M/4 services -> shared M/M/8 DB.

Poisson arrivals at 800/s. The load balancer sends each request uniformly at
random to one of 4 services (zero latency, no queueing at the balancer). Each
service is a simpy.Resource(capacity=4) with exponential service, mean 1/60 s.
The service is "async": its server is released when its own work is done,
then the request queues at the shared database, a simpy.Resource(capacity=8)
with exponential service, mean 1/120 s. End-to-end sojourn is recorded.
Theory (open Jackson network): 33.11 ms + 11.66 ms = 44.77 ms.

Usage: simpy_lb_db.py N [SEED]
Runs until N requests have completed end to end; prints one JSON line.
"""
import json
import random
import sys
import time

import simpy

ARRIVAL_RATE = 800.0
N_SERVICES = 4
SERVICE_SERVERS = 4
SERVICE_RATE = 60.0
DB_SERVERS = 8
DB_RATE = 120.0


def request(env, services, db, rng, sojourns, n_target, done):
    arrived = env.now
    service = services[rng.randrange(N_SERVICES)]  # the load balancer
    with service.request() as req:
        yield req
        yield env.timeout(rng.expovariate(SERVICE_RATE))
    with db.request() as req:
        yield req
        yield env.timeout(rng.expovariate(DB_RATE))
    sojourns.append(env.now - arrived)
    if len(sojourns) == n_target:
        done.succeed()


def source(env, services, db, rng, sojourns, n_target, done):
    while True:
        yield env.timeout(rng.expovariate(ARRIVAL_RATE))
        env.process(request(env, services, db, rng, sojourns, n_target, done))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)

    env = simpy.Environment()
    services = [simpy.Resource(env, capacity=SERVICE_SERVERS) for _ in range(N_SERVICES)]
    db = simpy.Resource(env, capacity=DB_SERVERS)
    sojourns = []
    done = env.event()
    env.process(source(env, services, db, rng, sojourns, n, done))

    t0 = time.process_time()
    env.run(until=done)
    cpu = time.process_time() - t0

    print(json.dumps({
        "engine": "simpy " + simpy.__version__,
        "model": "lb_db",
        "completed": len(sojourns),
        "cpu_s": round(cpu, 4),
        "per_cpu_s": round(len(sojourns) / cpu, 1),
        "mean_sojourn_s": sum(sojourns) / len(sojourns),
        "sim_time_s": env.now,
    }))


if __name__ == "__main__":
    main()
