"""The `v2h` command line (firmware_notes/design.md "Command line")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import msgspec

from controller import config


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="config TOML (defaults when omitted)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override one config value (repeatable)")


def _load_config(args: argparse.Namespace, first: tuple[str, ...] = ()) -> config.Config:
    ov = (*first, *args.overrides)  # the command line's --set wins
    return config.load(args.config, ov) if args.config else config.defaults(ov)


def _check_config(args: argparse.Namespace) -> int:
    cfg = config.load(args.file)
    if cfg.tariff.contract == "variable" and cfg.tariff.monthly_file and not args.keys_only:
        from controller.prices import PriceError, read_monthly

        try:  # its rates, as the controller and the report will read them
            read_monthly(cfg.tariff.monthly_file)
        except (OSError, PriceError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else exc.message
            with open(args.file, encoding="utf-8") as fh:
                text = fh.read()
            raise config.ConfigError([config.Problem(
                args.file, config.find_line(text, "tariff.monthly_file"), "tariff.monthly_file",
                f"{cfg.tariff.monthly_file}: {why}")]) from None
    print(f"{args.file}: ok")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from controller import sim

    if args.sweep:
        from controller.sim import _sweep

        rows = _sweep.sweep(_load_config(args), n=args.points, seed=args.seed)
        if args.json:
            for r in rows:
                sys.stdout.write(msgspec.json.encode(r).decode() + "\n")
        else:
            print(_sweep.table(rows))
        return 0
    sc = sim.load(args.scenario)
    cfg = _load_config(args, tuple(sc.set))  # the scenario's settings, then the user's
    policies = sim.POLICIES if args.policy == "all" else (args.policy,)
    results, runs = sim.simulate(sc, cfg, policies, trace=bool(args.chart))
    if args.json:
        for r in results:
            sys.stdout.write(msgspec.json.encode(r).decode() + "\n")
    else:
        print(sim.table(results))
    if args.chart:
        path = sim.chart(args.chart, runs, sim.build(sc), f"{sc.name}: {sc.description}")
        print(f"chart: {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from controller.devices import CHARGERS, METERS
    from controller.loop import Controller

    cfg = _load_config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    if cfg.meter.driver not in METERS or cfg.charger.driver not in CHARGERS:
        print(f"{args.config or '<defaults>'}:0: meter.driver: driver "
              f"{cfg.meter.driver!r} is not available in this build", file=sys.stderr)
        return 2

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGHUP (a closed terminal, a reload by habit) stops as SIGTERM does: safely
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        # one driver per physical device: the cycle and the grid watch share the meter's
        ctl = Controller(cfg, METERS[cfg.meter.driver](cfg.meter),
                         CHARGERS[cfg.charger.driver](cfg.charger))
        rc = await ctl.run(stop)
        if args.stats:
            import json

            from controller.loop import stats

            with open(args.stats, "w", encoding="utf-8") as fh:
                json.dump(stats(ctl), fh)
        return rc

    return asyncio.run(main())


def _stop_charger(args: argparse.Namespace) -> int:
    """`v2h stop-charger`: the charger's stop, written from outside a dead controller (the
    systemd unit's ExecStopPost=; controller/devices/_poststop.py); exit 1 when the charger
    did not take it."""
    import asyncio
    import logging

    from controller.devices import DeviceError
    from controller.devices._poststop import stop_charger

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # our line says what failed
    cfg = _load_config(args)
    try:
        print(asyncio.run(stop_charger(cfg)), flush=True)
    except DeviceError as exc:
        print(f"v2h stop-charger: {exc}", file=sys.stderr)
        return 1
    return 0


def _probe(args: argparse.Namespace) -> int:
    """`v2h probe`: the commissioning run (controller/_probe.py); exit 1 when it could not
    identify (the reason on stderr)."""
    import asyncio
    import json
    import logging

    from controller import _probe
    from controller.devices import CHARGERS, METERS

    cfg = _load_config(args)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    try:
        out = asyncio.run(_probe.probe(cfg, METERS[cfg.meter.driver](cfg.meter),
                                       CHARGERS[cfg.charger.driver](cfg.charger)))
    except _probe.ProbeError as exc:
        print(f"v2h probe: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out) if args.json else _probe.text(out))
    return 0


def _report(args: argparse.Namespace) -> int:
    """`v2h report`: a month of the ledger as figures, as CSV (one row per local day), or as
    a printable HTML statement; priced by the ledger's prices, else the config's contract."""
    from controller import ledger
    from controller.prices import Contract, PriceError

    cfg = _load_config(args)
    path = args.ledger or str(ledger.path_of(cfg.ledger))
    try:
        contract = Contract.from_config(cfg)
    except (OSError, PriceError) as exc:
        print(f"v2h report: tariff.monthly_file: {exc}", file=sys.stderr)
        return 2
    try:
        rep = ledger.build(path, args.month, cfg.site.timezone, cfg.car.capacity_kwh,
                           cfg.car.efficiency,
                           price_at=contract.price_at if contract.gives_prices else None)
    except ValueError as exc:
        print(f"v2h report: {exc}", file=sys.stderr)
        return 2
    except (OSError, ledger.LedgerError) as exc:
        print(f"v2h report: {getattr(exc, 'filename', None) or path}: no usable ledger "
              f"({getattr(exc, 'strerror', None) or exc})", file=sys.stderr)
        return 2
    rule = ledger.Rule.of(cfg.lease) if cfg.lease is not None else None
    if args.html:
        from controller.ledger import statement

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(statement(rep, rule, contract.describe()))
        print(f"statement: {args.html}")
    elif args.csv:
        ledger.write_csv(rep, sys.stdout, rule)
    else:
        sys.stdout.write(ledger.text(rep, rule))
    return 0


def _assess(args: argparse.Namespace) -> int:
    """`v2h assess`: one household folder (household.toml) or a folder of them; a report
    per home (HTML, JSON, CSV) and, for many, a summary table. Bad input: exit 2 with
    FILE:LINE: problem on stderr."""
    from pathlib import Path

    from controller.assess import AssessError, households, portfolio

    try:
        homes = households(args.path)
        if len(homes) == 1 and homes[0] == Path(args.path) \
                and not args.scheduler:
            from controller.assess import assess_one

            row = assess_one(str(homes[0]), args.out, args.days, min(args.workers, 2))
            if row["error"]:
                print(row["error"], file=sys.stderr)
                return 1 if row["internal"] else 2
            print(row["verdict"])
            print(f"report: {row['report']}")
            return 0
        rows = portfolio(args.path, args.out, args.workers, args.scheduler, args.days)
    except AssessError as exc:
        print(exc, file=sys.stderr)
        return 2
    bad = [r for r in rows if r["error"]]
    for r in rows:
        print(f"{r['household']}: {r['error'] or r['verdict']}")
    print(f"summary: {args.out}/summary.csv, {args.out}/summary.html")
    if any(r["internal"] for r in bad):
        return 1
    return 2 if bad else 0


def _demo(args: argparse.Namespace) -> int:
    from controller._demo import run_demo

    return run_demo(args.scenario, args.minutes, tuple(args.overrides), args.charger)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="v2h", description="Vehicle-to-Home controller")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check-config", help="validate a config file")
    p.add_argument("file")
    p.add_argument("--keys-only", action="store_true",
                   help="the keys only, not the data files they name (a variable contract's "
                   "monthly rates): the service's start check, so that a bookkeeping file "
                   "never keeps the controller from running")
    p.set_defaults(func=_check_config)
    p = sub.add_parser("run", help="the live controller")
    _add_config(p)
    p.add_argument("--stats", metavar="FILE", help="on exit, write the loop's timings (JSON)")
    p.set_defaults(func=_run)
    p = sub.add_parser("stop-charger", help="write the charger's stop from outside the "
                       "controller (the systemd unit's ExecStopPost=, after v2h run died)")
    _add_config(p)
    p.set_defaults(func=_stop_charger)
    p = sub.add_parser("probe", help="commissioning: small safe steps, the charger and the "
                       "meter identified, the config lines to use")
    _add_config(p)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.set_defaults(func=_probe)
    p = sub.add_parser("report", help="a month of the energy ledger (figures or CSV)")
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="local month")
    p.add_argument("--ledger", metavar="PATH", help="the ledger (default: the config's)")
    _add_config(p)  # the ledger path, time zone, car, [tariff] and [lease]
    p.add_argument("--csv", action="store_true", help="one CSV row per local day instead")
    p.add_argument("--html", metavar="FILE", help="write the month's printable statement "
                   "(HTML) to FILE instead")
    p.set_defaults(func=_report)
    p = sub.add_parser("demo", help="bench and controller live in the terminal")
    p.add_argument("--scenario", default="demo-evening", metavar="NAME_OR_FILE")
    p.add_argument("--minutes", type=float, help="stop after this long")
    p.add_argument("--charger", default="quasar", metavar="NAME",
                   choices=("quasar", "evtec", "ambibox", "sigenergy", "sunspec",
                            "ocpp21"),
                   help="the charger on the bench and its driver (default quasar)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE")
    p.set_defaults(func=_demo)
    p = sub.add_parser("assess", help="does V2H suit this home, a home battery, or neither: "
                       "a year at 1 s per option, a report per home (issue #15)")
    p.add_argument("path", metavar="FOLDER", help="a household folder (household.toml) or a "
                   "folder of them (a portfolio)")
    p.add_argument("--out", default="out/assess", metavar="DIR", help="where the reports go")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="homes assessed side by side on this machine (one home: 2 runs its "
                   "price-plan pass in a second process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a dask.distributed scheduler (tcp://host:8786) to spread homes over")
    p.add_argument("--days", type=int, metavar="N", help="only the first N days of each home")
    p.set_defaults(func=_assess)
    p = sub.add_parser("simulate", help="software-in-the-loop run in simulated time")
    p.add_argument("--scenario", default="standard-day", metavar="NAME_OR_FILE")
    p.add_argument("--policy", default="v2h", choices=("v2h", "p-loop", "evcc-like", "none", "all"))
    p.add_argument("--json", action="store_true", help="print the result object (one a line)")
    p.add_argument("--chart", metavar="PNG", help="write a chart of the run")
    p.add_argument("--sweep", action="store_true",
                   help="a grid of plants (charger, meter, loads) with v2h, p-loop and the "
                   "oracle: one table (or JSON rows)")
    p.add_argument("--points", type=int, default=12, metavar="N", help="sweep points")
    p.add_argument("--seed", type=int, default=12, help="the sweep's draw of points")
    _add_config(p)
    p.set_defaults(func=_simulate)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except config.ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{getattr(exc, 'filename', '') or ''}:0: (file): {exc.strerror or exc}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
