"""The OCPP 2.1 station emulator and the ocpp21 driver over loopback websockets (the bench on
a fake clock): the V2X rules the station enforces, what a profile does to the plant, its
expiry (the dead-man), and the faults: websocket dropped, reboot, rejected profile,
transaction ended by the car."""

from __future__ import annotations

import asyncio
import math

import pytest
import pytest_asyncio

from controller import config
from controller.devices import DeviceError, Ocpp21
from hil import Fault
from hil._ocpp21 import check_profile
from tests.helpers import follows_discharge

pytestmark = pytest.mark.hil


def period(**kw) -> dict:
    return {"start_period": 0, **kw}


def profile(*periods: dict, purpose: str = "TxProfile", tx: str | None = "tx-1") -> dict:
    p = {"id": 1, "stack_level": 1, "charging_profile_purpose": purpose,
         "charging_profile_kind": "Absolute",
         "charging_schedule": [{"id": 1, "charging_rate_unit": "W",
                                "charging_schedule_period": list(periods)}]}
    return {**p, "transaction_id": tx} if tx is not None else p


class TestRules:
    """check_profile: the V2X rules of OCPP 2.1's operationMode table."""

    @pytest.mark.parametrize("per, why", [
        (period(operation_mode="CentralSetpoint", limit=5000.0), "SetpointMissing"),
        (period(operation_mode="Idle", limit=0.0), "IdleWithLimits"),
        (period(operation_mode="Idle", setpoint=0.0), "IdleWithLimits"),
        (period(operation_mode="Idle", discharge_limit=-100.0), "IdleWithLimits"),
        (period(operation_mode="CentralSetpoint", setpoint=-3000.0, limit=5000.0,
                discharge_limit=-2000.0), "SetpointOutOfRange"),
        (period(operation_mode="CentralSetpoint", setpoint=6000.0, limit=5000.0,
                discharge_limit=-2000.0), "SetpointOutOfRange"),
        (period(operation_mode="ChargingOnly", limit=3000.0, discharge_limit=-10.0),
         "DischargeNotAllowed"),
        (period(operation_mode="LocalFrequency"), "UnsupportedMode"),
    ])
    def test_rule_broken_is_rejected(self, per, why):
        """Each broken rule is named as the reason the station rejects the profile."""
        assert check_profile(profile(per), "tx-1") == why

    def test_discharge_before_it_is_allowed_is_rejected(self):
        """No negative setpoint before the CSMS allowed a bidirectional mode; charging is."""
        dis = period(operation_mode="CentralSetpoint", setpoint=-100.0, discharge_limit=-200.0)
        assert check_profile(profile(dis), "tx-1", v2x=False) == "V2XNotAuthorized"
        chg = period(operation_mode="CentralSetpoint", setpoint=100.0, discharge_limit=-200.0)
        assert check_profile(profile(chg), "tx-1", v2x=False) is None

    def test_profile_of_another_transaction_is_rejected(self):
        """A TxProfile for a transaction not running (or none running) is refused."""
        p = profile(period(operation_mode="Idle"))
        assert check_profile(p, "tx-2") == "TxNotFound"
        assert check_profile(p, None) == "TxNotFound"

    @pytest.mark.parametrize("per", [
        period(operation_mode="Idle"),
        period(operation_mode="CentralSetpoint", setpoint=-2000.0, limit=7400.0,
               discharge_limit=-2000.0),
        period(operation_mode="CentralSetpoint", setpoint=0.0),
        period(operation_mode="ChargingOnly", limit=3000.0)])
    def test_rule_kept_is_taken(self, per):
        """Profiles within the rules pass."""
        assert check_profile(profile(per), "tx-1") is None


@pytest_asyncio.fixture
async def station(make_bench):
    """A bench with the OCPP station and a driver it has connected to, a transaction on."""
    made: list[Ocpp21] = []

    async def make(*extra: str, faults: list[Fault] | None = None):
        from hil._bench import free_port

        port = free_port()
        cfg = config.defaults(("charger.driver=ocpp21", f"charger.port={port}", *extra))
        d = Ocpp21(cfg.charger)
        made.append(d)
        await d.start()
        bench = await make_bench(charger_kind="ocpp21", faults=faults)
        await bench.charger.stop()
        await bench.charger.start(port)
        bench.advance(0.2)
        await until(lambda: d.state.tx_id is not None and d.state.max_discharge_w > 0)
        return bench, d

    yield make
    for d in made:
        await d.close()


async def until(cond, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def test_driver_discharges_charges_and_stops(station):
    """-2 kW, +3 kW, a stop: the plant follows; power, SoC, limits and state read back."""
    bench, d = await station()
    await d.take_control(10)
    r = await follows_discharge(bench, d)
    assert r.discharged_wh > 0
    await d.set_power(3000)
    bench.advance(8)
    assert abs(bench.plant.p - 3000) < 5.0
    await d.stop()
    bench.advance(5)
    assert bench.charger.command_w() == 0.0 and abs(bench.plant.p) < 5.0
    assert d.limits() == (bench.plant.max_chg_w, bench.plant.max_dis_w)
    assert bench.charger.rejected == [] and bench.charger.allowed == {"DC_BPT"}


async def test_setpoint_beyond_the_cars_limit_is_clamped(station):
    """A command past the car's V2X maximum goes out at the maximum (never a rejection)."""
    bench, d = await station()
    await d.take_control(10)
    await d.set_power(-50_000)
    per = d.profiles_sent[-1]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    assert per["setpoint"] == per["dischargeLimit"] == -bench.plant.max_dis_w
    assert bench.charger.rejected == []


async def test_profile_expires_to_idle(station):
    """The dead-man: no profile for watchdog_s and the station falls back to Idle (0 W)."""
    bench, d = await station()
    await d.take_control(6)
    await d.set_power(-3000)
    bench.advance(5.8)
    assert bench.charger.command_w() == -3000.0
    bench.advance(0.4)
    assert bench.charger.command_w() == 0.0
    bench.advance(3)
    assert abs(bench.plant.p) < 100.0


async def test_rejected_profile_is_a_device_error(station):
    """charger_rejects: the station refuses every profile; the driver raises, nothing
    moves."""
    bench, d = await station(faults=[Fault("charger_rejects", 0.0, 100.0)])
    with pytest.raises(DeviceError, match="rejected Busy"):
        await d.take_control(10)
    assert bench.charger.forced_rejections == 1 and bench.charger.rejected == []


async def test_broken_profile_is_rejected_over_the_wire(station):
    """A profile that breaks a rule, sent as it is, is rejected with the rule's reason."""
    bench, d = await station()
    d.validity_s = 10
    with pytest.raises(DeviceError, match="SetpointMissing"):
        await d._tx({"startPeriod": 0, "operationMode": "CentralSetpoint", "limit": 1000.0})
    with pytest.raises(DeviceError, match="IdleWithLimits"):
        await d._tx({"startPeriod": 0, "operationMode": "Idle", "limit": 0.0})
    assert [r[1] for r in bench.charger.rejected] == ["SetpointMissing", "IdleWithLimits"]


async def test_transaction_ended_by_the_car(station):
    """The car ends the transaction: the profile goes with it, a command is refused as no
    transaction; a new one starts when the fault ends."""
    bench, d = await station(faults=[Fault("charger_user_mode", 5.0, 2.0)])
    await d.take_control(10)
    await d.set_power(-2000)
    bench.advance(5)
    await until(lambda: d.state.tx_id is None)
    assert bench.charger.command_w() == 0.0
    with pytest.raises(DeviceError, match="no transaction"):
        await d.set_power(-2000)
    bench.advance(2.1)
    await until(lambda: d.state.tx_id == "tx-2")
    await d.set_power(-1000)
    assert bench.charger.command_w() == -1000.0


async def test_websocket_dropped_then_back(station):
    """charger_lost: the websocket drops, reads fail; the profile runs on until it expires;
    the station redials when the fault ends, under control of nobody until taken again."""
    bench, d = await station(faults=[Fault("charger_lost", 2.0, 3.0)])
    await d.take_control(10)
    await d.set_power(-2000)
    old = d.station
    bench.advance(2.1)
    with pytest.raises(DeviceError):
        await d.read()
    assert bench.charger.command_w() == -2000.0  # until its profile expires
    bench.advance(3)
    await until(lambda: d.station not in (None, old))  # the new session, not the dead one
    r = await d.read()
    assert not r.controlled and r.car_present
    await d.take_control(10)
    assert (await d.read()).controlled


async def test_reboot_loses_profiles_and_control(station):
    """charger_reboot: back with a BootNotification, no profiles, a new transaction: the
    read says not under control."""
    bench, d = await station(faults=[Fault("charger_reboot", 2.0, 1.0)])
    await d.take_control(10)
    await d.set_power(-2000)
    bench.advance(2.1)
    assert bench.charger.command_w() == 0.0 and bench.charger.profiles == {}
    bench.advance(1.0)
    await until(lambda: d.state.boots == 2 and d.state.tx_id == "tx-2")
    r = await d.read()
    assert not r.controlled and math.isfinite(r.power_w)


async def test_reply_lost_profile_applied(station):
    """charger_reply_lost: every other SetChargingProfile reply never comes; the driver
    raises (no reply) although the station applied it, and the next command goes through."""
    bench, d = await station(faults=[Fault("charger_reply_lost", 0.0, 100.0)])
    with pytest.raises(DeviceError, match="no reply"):
        await d.take_control(10)
    await d.take_control(10)
    with pytest.raises(DeviceError, match="no reply"):
        await d.set_power(-1500)
    assert bench.charger.command_w() == -1500.0
    await d.set_power(-1000)
    assert bench.charger.command_w() == -1000.0


async def test_take_control_asks_for_the_transaction(station):
    """Not knowing the transaction, take_control has the station report it (TriggerMessage
    TransactionEvent) before a command needs it."""
    bench, d = await station()
    d.state.tx_id = None
    await d.take_control(10)
    await until(lambda: d.state.tx_id == bench.charger.tx_id)
    await d.set_power(-500)
    assert bench.charger.command_w() == -500.0


async def test_station_declining_the_trigger_is_read_from_its_samples(station, monkeypatch):
    """A station that answers TriggerMessage with Rejected: the read takes the MeterValues it
    sent by itself while they are at most SAMPLE_MAX_S old, with their arrival as t."""
    from ocpp.v21 import call_result

    bench, d = await station()
    await d.read()
    route = bench.charger.cp.route_map["TriggerMessage"]
    monkeypatch.setitem(route, "_on_action", lambda **_: call_result.TriggerMessage(
        status="Rejected"))
    monkeypatch.delitem(route, "_after_action")
    r = await d.read()
    assert r.t == d.sample_t and r.car_present
    d.sample_t -= 3.0
    with pytest.raises(DeviceError, match="Rejected"):
        await d.read()
