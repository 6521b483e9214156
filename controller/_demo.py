"""`v2h demo`: the HIL bench's emulators and the live controller in one process, over real
Modbus TCP on 127.0.0.1, with a line a second in the terminal. Ctrl-C stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TextIO

import fast
from controller import config, sim
from controller.devices import CHARGERS, Sdm630
from controller.loop import Controller

HEADER = (f"{'time':>8} {'grid W':>8} {'PV W':>7} {'load W':>7} {'car W':>7} {'SoC %':>6} "
          f"{'state':<12} reasons")


async def demo(scenario: str, minutes: float | None, overrides: tuple[str, ...],
               out: TextIO = sys.stdout, charger: str = "quasar") -> int:
    """The demo with `charger`'s emulator on the bench and its driver in the controller."""
    from hil import Bench

    sc = sim.load(scenario)
    overrides = (*overrides, f"charger.driver={charger}")
    cfg0 = config.defaults(tuple(sc.set) + overrides)
    bench = Bench(sc, cfg0, charger_kind=charger)
    ports = await bench.start()
    # the bench's energy is make-believe: it stays out of the household's ledger
    cfg = config.defaults(tuple(sc.set) + ("ledger.enabled=false",) + overrides + (
        f"meter.port={ports['meter']}", f"charger.port={ports['charger']}"))
    ctl = Controller(cfg, Sdm630(cfg.meter), CHARGERS[charger](cfg.charger))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    duration = sc.duration_s if minutes is None else min(sc.duration_s, minutes * 60)
    print(f"{sc.name}: {sc.description}\nmeter 127.0.0.1:{ports['meter']}, charger "
          f"{charger} 127.0.0.1:{ports['charger']}; Ctrl-C stops\n{HEADER}", file=out,
          flush=True)

    async def view() -> None:
        while not stop.is_set() and bench.now() < duration:
            await asyncio.sleep(1.0)
            pl, inp, k = bench.plant, bench.inputs, bench.second()
            load = inp.l1[k] + inp.l2[k] + inp.l3[k]
            t = sim.seconds_of_day(sc.start) + int(bench.now())
            print(f"{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d} "
                  f"{pl.g1 + pl.g2 + pl.g3:8.0f} {inp.pv[k]:7.0f} {load:7.0f} {pl.p:7.0f} "
                  f"{pl.soc_pct:6.1f} {fast.MODES[ctl.st.mode]:<12} "
                  f"{','.join(ctl.last_reasons) or '-'}", file=out, flush=True)
        stop.set()

    plant = asyncio.create_task(bench.run(), name="v2h.demo.plant")
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(ctl.run(stop), name="v2h.demo.controller")
            tg.create_task(view(), name="v2h.demo.view")
        await asyncio.sleep(3.0)  # the plant runs on: the stop reaches the car (dead time, lag)
    finally:
        plant.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await plant
        await bench.stop()
    after = bench.charger.control_after()  # the Quasar: register 81; the others: 0 stopped
    how = (f"control handed back (register 81 = {after})" if charger == "quasar" else
           f"{'left stopped' if after == 0 else 'NOT stopped'} (it has no control to hand "
           "back)")
    print(f"stopped: car at {bench.plant.p:.0f} W, {how}", file=out, flush=True)
    return 0


def run_demo(scenario: str, minutes: float | None, overrides: tuple[str, ...],
             charger: str = "quasar") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    return asyncio.run(demo(scenario, minutes, overrides, charger=charger))
