#!/usr/bin/env python3
"""Ciw peer, model (a): M/M/1 at utilisation 0.9.

Poisson arrivals at 900/s, one server, exponential service with mean 1 ms,
unbounded FIFO queue (Ciw's default queue_capacities=inf, FIFO discipline).
Theory: mean sojourn = 1 / (1000 - 900) s = 10 ms.

Usage: ciw_mm1.py N [SEED]
Runs Simulation.simulate_until_max_customers(N) (i.e. until N customers have
completed and reached the exit node); prints one JSON line.
"""
import json
import sys
import time

import ciw


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=900.0)],
        service_distributions=[ciw.dists.Exponential(rate=1000.0)],
        number_of_servers=[1],
    )
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
        "model": "mm1",
        "completed": len(done),
        "cpu_s": round(cpu, 4),
        "per_cpu_s": round(len(done) / cpu, 1),
        "mean_sojourn_s": sum(sojourns) / len(sojourns),
        "sim_time_s": sim.current_time,
    }))


if __name__ == "__main__":
    main()
