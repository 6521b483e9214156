"""`python -m hil serve SCENARIO.toml [--meter-port P] [--charger-port Q] [--meter em24|p1]`:
the emulators and the plant in real time, for any controller to drive
(firmware_notes/design.md "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from controller import config

from ._bench import CHARGER_MODELS
from ._run import make_bench

CHARGER_NAMES = tuple(CHARGER_MODELS)


async def _serve(args: argparse.Namespace) -> int:
    sc, _spec, _cfg, bench = make_bench(args.scenario, args.overrides, meter=args.meter,
                                        unit_id=args.unit_id, charger=args.charger)
    ports = await bench.start(args.meter_port, args.charger_port)
    where = (f"serial {bench.meter_serial}" if bench.meter_serial
             else f"127.0.0.1:{ports['meter']}")
    print(f"meter {bench.meter_kind} on {where} unit {args.unit_id}", flush=True)
    if args.charger == "ocpp21":  # the station dials the controller, which listens there
        from ._ocpp21 import STATION_ID

        print(f"charger ocpp21 dials ws://127.0.0.1:{ports['charger']}/{STATION_ID}",
              flush=True)
    else:
        print(f"charger {args.charger} on 127.0.0.1:{ports['charger']} unit {args.unit_id}",
              flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(bench.run(sc.duration_s), name="hil.plant.tick")
    waiter = asyncio.create_task(stop.wait(), name="hil.signal")
    await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    for task in (runner, waiter):
        task.cancel()
    await bench.stop()
    return 0


async def _run(args: argparse.Namespace) -> int:
    from ._run import run_scenario

    res = await run_scenario(args.scenario, args.log, charger=args.charger)
    text = json.dumps(res, indent=None)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    name = res["scenario"] + ("" if args.charger == "quasar" else f" [{args.charger}]")
    for c in res["checks"]:
        mark = "n/a" if c["passed"] is None else "pass" if c["passed"] else "FAIL"
        why = f": {c['not_applicable']}" if c["passed"] is None else ""
        by = {"watchdog": " (stopped by its own watchdog)",
              "post-stop": " (stopped by the unit's ExecStopPost=, v2h stop-charger)"}.get(
                  c.get("stopped_by", ""), "")
        print(f"{mark} {name}: {c['name']} = {c['value']} (limit {c['limit']}){by}{why}")
    print(text)
    post = res.get("post_stop")
    post_failed = post is not None and post["exit_code"] != 0
    if post is not None and post_failed:
        print(f"FAIL {name}: post_stop exit code = {post['exit_code']} (limit 0)")
    for key in ("forbidden_writes", "rejected_profiles"):
        if res.get(key):
            print(f"FAIL {name}: {key} = {res[key]} (limit 0)")
    ok = (all(c["passed"] is not False for c in res["checks"])
          and res["safety_violations"] == 0
          and not res.get("forbidden_writes") and not res.get("rejected_profiles")
          and not post_failed)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hil")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario against `v2h run`, score it")
    r.add_argument("scenario", metavar="SCENARIO.toml")
    r.add_argument("--json", metavar="FILE", help="also write the result object here")
    r.add_argument("--log", metavar="FILE", help="keep the controller's log here")
    r.add_argument("--charger", choices=CHARGER_NAMES, default="quasar",
                   help="the charger's model and v2h's driver for it (default quasar)")
    p = sub.add_parser("serve", help="run only the emulators and the plant")
    p.add_argument("scenario", metavar="SCENARIO.toml")
    p.add_argument("--meter-port", type=int, default=0)
    p.add_argument("--charger-port", type=int, default=0)
    p.add_argument("--meter", choices=("sdm630", "em24", "p1"), default=None,
                   help="the meter model (default: the scenario's [hil] meter)")
    p.add_argument("--unit-id", type=int, default=1)
    p.add_argument("--charger", choices=CHARGER_NAMES, default="quasar")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    try:
        return asyncio.run(_run(args) if args.cmd == "run" else _serve(args))
    except config.ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
