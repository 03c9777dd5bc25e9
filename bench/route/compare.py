#!/usr/bin/env python3
"""Runs PyVRP, VROOM (pyvroom) and OR-Tools on the benchmark instances that
`cargo run --release -p route --example bench` solves, at the same budgets and
distance conventions, and prints per-instance distance and gap tables with means.

Not part of CI. Install the solvers with
    pip install pyvrp==0.14.1 pyvroom==1.15.2 ortools==9.15.6755
and run, for example,
    python3 bench/route/compare.py --set solomon --budgets 1,10 --solvers pyvrp,vroom,ortools

Conventions: Solomon (time windows) per DIMACS, every arc truncated to one decimal
(integers in tenths, times likewise); CVRPLIB X arcs rounded to integers. Each solver
gets one thread. VROOM has no anytime search: it runs with the budget as its timeout
at its highest exploration level, and usually stops well before.
"""

import argparse
import math
import pathlib
import re
import statistics
import sys
import time
from datetime import timedelta


def read_instance(path):
    """Minimal VRPLIB reader for the EUC_2D instances used here."""
    header, sections, current = {}, {}, None
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line == "EOF":
            continue
        if ":" in line and not line[0].isdigit():
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip().strip('"')
            current = None
        elif line.endswith("_SECTION"):
            current = line
            sections[current] = []
        else:
            sections[current].append(line.split())
    n = int(header["DIMENSION"])
    coords = [None] * n
    for node, x, y in sections["NODE_COORD_SECTION"]:
        coords[int(node) - 1] = (float(x), float(y))
    demand = [0] * n
    for node, d in sections["DEMAND_SECTION"]:
        demand[int(node) - 1] = int(d)
    windows = None
    if "TIME_WINDOW_SECTION" in sections:
        windows = [None] * n
        for node, e, l in sections["TIME_WINDOW_SECTION"]:
            windows[int(node) - 1] = (int(e), int(l))
    depot = int(sections["DEPOT_SECTION"][0][0]) - 1
    tw = windows is not None
    scale = 10 if tw else 1

    def arc(a, b):
        dx, dy = a[0] - b[0], a[1] - b[1]
        if tw:
            return math.isqrt(int(round(100 * (dx * dx + dy * dy))))
        return int(round(math.sqrt(dx * dx + dy * dy)))

    matrix = [[arc(a, b) for b in coords] for a in coords]
    service = int(header.get("SERVICE_TIME", "0")) * scale
    return {
        "name": header.get("NAME", pathlib.Path(path).stem),
        "n": n,
        "depot": depot,
        "matrix": matrix,
        "demand": demand,
        "capacity": int(header["CAPACITY"]),
        "vehicles": int(header.get("VEHICLES", n - 1)),
        "windows": [(e * scale, l * scale) for e, l in windows] if tw else None,
        "service": service,
        "scale": scale,
        "round_func": "dimacs" if tw else "round",
    }


def best_known(path):
    text = pathlib.Path(path).read_text()
    match = re.search(r"Cost\s+([0-9.]+)", text)
    return float(match.group(1)) if match else None


def solve_pyvrp(path, inst, budget_s, seed):
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = pyvrp.read(path, round_func=inst["round_func"])
    result = pyvrp.solve(data, stop=MaxRuntime(budget_s), seed=seed, display=False)
    best = result.best
    return best.distance() / inst["scale"], best.num_routes(), best.is_feasible()


def solve_vroom(path, inst, budget_s, seed):
    import vroom

    n, depot = inst["n"], inst["depot"]
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=inst["matrix"])
    horizon = inst["windows"][depot] if inst["windows"] else None
    for vehicle_id in range(inst["vehicles"]):
        kwargs = dict(start=depot, end=depot, capacity=[inst["capacity"]])
        if horizon:
            kwargs["time_window"] = vroom.TimeWindow(*horizon)
        problem.add_vehicle(vroom.Vehicle(vehicle_id + 1, **kwargs))
    for node in range(n):
        if node == depot:
            continue
        kwargs = dict(location=node, delivery=[inst["demand"][node]], default_service=inst["service"])
        if inst["windows"]:
            kwargs["time_windows"] = [vroom.TimeWindow(*inst["windows"][node])]
        problem.add_job(vroom.Job(node, **kwargs))
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=budget_s))
    routes = solution.routes
    distance = 0
    n_routes = 0
    for _, route in routes.groupby("vehicle_id"):
        locations = [int(x) for x in route["location_index"]]
        distance += sum(inst["matrix"][a][b] for a, b in zip(locations, locations[1:]))
        n_routes += 1
    feasible = solution.summary.unassigned == 0
    return distance / inst["scale"], n_routes, feasible


def solve_ortools(path, inst, budget_s, seed):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n, depot = inst["n"], inst["depot"]
    manager = pywrapcp.RoutingIndexManager(n, inst["vehicles"], depot)
    routing = pywrapcp.RoutingModel(manager)
    matrix = inst["matrix"]

    def distance(i, j):
        return matrix[manager.IndexToNode(i)][manager.IndexToNode(j)]

    transit = routing.RegisterTransitCallback(distance)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    demand = routing.RegisterUnaryTransitCallback(lambda i: inst["demand"][manager.IndexToNode(i)])
    routing.AddDimensionWithVehicleCapacity(demand, 0, [inst["capacity"]] * inst["vehicles"], True, "load")
    if inst["windows"]:
        service = inst["service"]

        def travel(i, j):
            a = manager.IndexToNode(i)
            return matrix[a][manager.IndexToNode(j)] + (service if a != depot else 0)

        time_cb = routing.RegisterTransitCallback(travel)
        horizon = inst["windows"][depot][1]
        routing.AddDimension(time_cb, horizon, horizon, False, "time")
        time_dim = routing.GetDimensionOrDie("time")
        for node in range(n):
            if node != depot:
                time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(*inst["windows"][node])
        for vehicle in range(inst["vehicles"]):
            time_dim.CumulVar(routing.Start(vehicle)).SetRange(*inst["windows"][depot])
            time_dim.CumulVar(routing.End(vehicle)).SetRange(*inst["windows"][depot])
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(budget_s * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return float("nan"), 0, False
    total, n_routes = 0, 0
    for vehicle in range(inst["vehicles"]):
        index = routing.Start(vehicle)
        if routing.IsEnd(solution.Value(routing.NextVar(index))):
            continue
        n_routes += 1
        while not routing.IsEnd(index):
            nxt = solution.Value(routing.NextVar(index))
            total += distance(index, nxt)
            index = nxt
    return total / inst["scale"], n_routes, True


SOLVERS = {"pyvrp": solve_pyvrp, "vroom": solve_vroom, "ortools": solve_ortools}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "vrp-benchmarks"
    parser.add_argument("--data", default=str(default_data))
    parser.add_argument("--set", default="solomon", choices=["solomon", "x", "all"])
    parser.add_argument("--budgets", default="1", help="seconds, comma-separated")
    parser.add_argument("--solvers", default="pyvrp,vroom,ortools")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    if not data.is_dir():
        sys.exit(f"benchmark data not found at {data}; pass --data DIR")
    folders = {"solomon": ["solomon"], "x": ["cvrp-x"], "all": ["solomon", "cvrp-x"]}[args.set]
    paths = [p for f in folders for p in sorted((data / f).glob("*.vrp")) if p.stem.startswith(args.only)]
    solvers = args.solvers.split(",")
    for budget in [float(b) for b in args.budgets.split(",")]:
        print(f"\nbudget {budget:g} s, 1 thread, seed {args.seed}\n")
        print("| instance | best known | " + " | ".join(f"{s} vehicles | {s} distance | {s} gap %" for s in solvers) + " |")
        print("| --- | ---: |" + " ---: | ---: | ---: |" * len(solvers))
        gaps = {s: [] for s in solvers}
        for path in paths:
            inst = read_instance(path)
            bks = best_known(path.with_suffix(".sol"))
            cells = []
            for name in solvers:
                started = time.monotonic()
                try:
                    distance, n_routes, feasible = SOLVERS[name](str(path), inst, budget, args.seed)
                except Exception as error:  # a solver failing on one instance is a result too
                    print(f"{name} failed on {path.stem}: {error}", file=sys.stderr)
                    distance, n_routes, feasible = float("nan"), 0, False
                gap = 100 * (distance - bks) / bks if bks and feasible else float("nan")
                if not math.isnan(gap):
                    gaps[name].append(gap)
                flag = "" if feasible else " (infeasible)"
                cells.append(f"{n_routes} | {distance:.1f}{flag} | {gap:.2f}")
                _ = time.monotonic() - started
            print(f"| {path.stem} | {bks} | " + " | ".join(cells) + " |", flush=True)
        print("\n| solver | instances solved feasibly | mean gap % |")
        print("| --- | ---: | ---: |")
        for name in solvers:
            mean = statistics.mean(gaps[name]) if gaps[name] else float("nan")
            print(f"| {name} | {len(gaps[name])} of {len(paths)} | {mean:.2f} |")


if __name__ == "__main__":
    main()
