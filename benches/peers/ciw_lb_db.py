#!/usr/bin/env python3
"""Ciw peer, model (b): load balancer -> 4 x M/M/4 services -> shared M/M/8 DB.

Poisson arrivals at 800/s, uniform random split over 4 services, each an
M/M/4 station (exponential service, mean 1/60 s); after its own service the
request goes to one shared M/M/8 database station (exponential, mean 1/120 s)
and then leaves. End-to-end sojourn is recorded.
Theory (open Jackson network): 33.11 ms + 11.66 ms = 44.77 ms.

How the load balancer is expressed (choice made here): as an explicit Ciw node
(node 1) that receives the single 800/s Poisson stream, has infinitely many
servers and a zero (Deterministic(0)) service time, and routes to the 4
service nodes with probability 0.25 each via the routing matrix. This mirrors
the modelled architecture (one client stream -> balancer -> services) most
faithfully. The alternative - four independent 200/s arrival streams straight
into the 4 service nodes - is statistically identical (Poisson splitting) and
would be somewhat cheaper in Ciw, since it skips one node visit per request;
pass --split-arrivals to use it instead.

Nodes: 1 = LB, 2..5 = services, 6 = DB.

Usage: ciw_lb_db.py N [SEED] [--split-arrivals]
Runs Simulation.simulate_until_max_customers(N) (N customers completed and
reached the exit node); prints one JSON line.
"""
import json
import sys
import time

import ciw

ARRIVAL_RATE = 800.0
N_SERVICES = 4
SERVICE_SERVERS = 4
SERVICE_RATE = 60.0
DB_SERVERS = 8
DB_RATE = 120.0


def lb_network():
    n_nodes = 1 + N_SERVICES + 1
    db = n_nodes - 1
    routing = [[0.0] * n_nodes for _ in range(n_nodes)]
    for s in range(1, 1 + N_SERVICES):
        routing[0][s] = 1.0 / N_SERVICES      # LB -> service s, uniform
        routing[s][db] = 1.0                  # service -> DB
    # DB row is all zeros: leave the system.
    return ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE)]
        + [None] * (N_SERVICES + 1),
        service_distributions=[ciw.dists.Deterministic(value=0.0)]
        + [ciw.dists.Exponential(rate=SERVICE_RATE) for _ in range(N_SERVICES)]
        + [ciw.dists.Exponential(rate=DB_RATE)],
        number_of_servers=[float("inf")] + [SERVICE_SERVERS] * N_SERVICES + [DB_SERVERS],
        routing=routing,
    )


def split_network():
    n_nodes = N_SERVICES + 1
    db = n_nodes - 1
    routing = [[0.0] * n_nodes for _ in range(n_nodes)]
    for s in range(N_SERVICES):
        routing[s][db] = 1.0
    return ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE / N_SERVICES)
                               for _ in range(N_SERVICES)] + [None],
        service_distributions=[ciw.dists.Exponential(rate=SERVICE_RATE) for _ in range(N_SERVICES)]
        + [ciw.dists.Exponential(rate=DB_RATE)],
        number_of_servers=[SERVICE_SERVERS] * N_SERVICES + [DB_SERVERS],
        routing=routing,
    )


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    split = "--split-arrivals" in sys.argv[1:]
    n = int(args[0]) if len(args) > 0 else 20_000
    seed = int(args[1]) if len(args) > 1 else 1

    network = split_network() if split else lb_network()
    ciw.seed(seed)
    sim = ciw.Simulation(network)

    t0 = time.process_time()
    sim.simulate_until_max_customers(n, method="Complete")
    cpu = time.process_time() - t0

    done = sim.nodes[-1].all_individuals  # exit node: completed customers
    sojourns = [ind.data_records[-1].exit_date - ind.data_records[0].arrival_date
                for ind in done]

    print(json.dumps({
        "engine": "ciw " + ciw.__version__,
        "model": "lb_db_split" if split else "lb_db",
        "completed": len(done),
        "cpu_s": round(cpu, 4),
        "per_cpu_s": round(len(done) / cpu, 1),
        "mean_sojourn_s": sum(sojourns) / len(sojourns),
        "sim_time_s": sim.current_time,
    }))


if __name__ == "__main__":
    main()
