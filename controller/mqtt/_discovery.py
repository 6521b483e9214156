"""Home Assistant MQTT discovery: one device with its sensors, a select, numbers, a text
and a button. Config payloads are retained; an empty retained payload removes one.

Every value v2h publishes for an entity is one Home Assistant accepts (a number within its
min and max, the departure text matching its pattern), and every value Home Assistant lets
the owner pick is one v2h takes: both sides come from controller._owner."""

from __future__ import annotations

from typing import Any

from controller._owner import DEPARTURE_PATTERN, MODES, bounds
from controller.config import Config


def _sensor(key: str, name: str, unit: str | None, device_class: str | None,
            state_class: str | None, tpl: str) -> tuple[str, str, dict[str, Any]]:
    cfg: dict[str, Any] = {"name": name, "value_template": tpl}
    if unit:
        cfg["unit_of_measurement"] = unit
    if device_class:
        cfg["device_class"] = device_class
    if state_class:
        cfg["state_class"] = state_class
    return "sensor", key, cfg


def entities(cfg: Config) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, object id, config without the shared keys) for every entity."""
    b = bounds(cfg)
    return [
        _sensor("grid_power", "Grid power", "W", "power", "measurement",
                "{{ value_json.grid_w }}"),
        _sensor("car_power", "Car power", "W", "power", "measurement", "{{ value_json.ev_w }}"),
        _sensor("car_soc", "Car state of charge", "%", "battery", "measurement",
                "{{ value_json.soc }}"),
        # words for the homeowner; the codes stay in the JSON (value_json.state, .reason)
        _sensor("state", "Controller state", None, None, None, "{{ value_json.state_text }}"),
        _sensor("reason", "Last reason", None, None, None, "{{ value_json.reason_text }}"),
        _sensor("plan", "Plan for this slot", None, None, None, "{{ value_json.plan }}"),
        _sensor("energy_imported", "Energy imported", "Wh", "energy", "total_increasing",
                "{{ value_json.import_wh }}"),
        _sensor("energy_exported", "Energy exported", "Wh", "energy", "total_increasing",
                "{{ value_json.export_wh }}"),
        _sensor("energy_charged", "Energy charged into the car", "Wh", "energy",
                "total_increasing", "{{ value_json.charged_wh }}"),
        _sensor("energy_discharged", "Energy discharged from the car", "Wh", "energy",
                "total_increasing", "{{ value_json.discharged_wh }}"),
        ("select", "mode", {"name": "Mode", "options": list(MODES), "command": "mode",
                            "value_template": "{{ value_json.mode }}"}),
        ("number", "reserve_soc", {"name": "Reserve SoC", "command": "reserve_soc",
                                   "min": b["reserve_soc"][0], "max": b["reserve_soc"][1],
                                   "step": 1,
                                   "unit_of_measurement": "%", "mode": "box",
                                   "value_template": "{{ value_json.reserve_soc }}"}),
        ("number", "max_discharge_w", {"name": "Maximum discharge power",
                                       "command": "max_discharge_w",
                                       "min": b["max_discharge_w"][0],
                                       "max": b["max_discharge_w"][1], "step": 100,
                                       "unit_of_measurement": "W", "mode": "box",
                                       "value_template": "{{ value_json.max_discharge_w }}"}),
        ("text", "departure", {"name": "Departure time", "command": "departure",
                               "pattern": DEPARTURE_PATTERN, "max": 5,
                               "value_template": "{{ value_json.departure }}"}),
        ("number", "departure_soc", {"name": "Departure SoC", "command": "departure_soc",
                                     "min": b["departure_soc"][0],
                                     "max": b["departure_soc"][1], "step": 1,
                                     "unit_of_measurement": "%", "mode": "box",
                                     "value_template": "{{ value_json.departure_soc }}"}),
        ("button", "charge_now", {"name": "Charge now", "command": "charge_now",
                                  "payload_press": "PRESS"}),
    ]


def configs(cfg: Config, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """(discovery topic, payload) for each entity, with device, availability and topics."""
    site = cfg.site.id
    device = {"identifiers": [f"v2h_{site}"], "name": f"v2h {site}", "manufacturer": "v2h",
              "model": "Vehicle-to-Home controller"}
    out = []
    for component, key, c in entities(cfg):
        payload = dict(c)
        command = payload.pop("command", None)
        payload.update({
            "unique_id": f"v2h_{site}_{key}",
            # the entity id: default_entity_id from Home Assistant 2025.10 on; object_id,
            # the same id, for the versions before it (they drop default_entity_id; 2025.10+
            # ignore object_id when default_entity_id is there, 2026.4 drops it)
            "default_entity_id": f"{component}.v2h_{site}_{key}",
            "object_id": f"v2h_{site}_{key}",
            "device": device, "availability_topic": f"{prefix}/availability",
            "payload_available": "online", "payload_not_available": "offline",
        })
        if component != "button":
            payload["state_topic"] = f"{prefix}/state"
        if command:
            payload["command_topic"] = f"{prefix}/set/{command}"
        out.append((f"homeassistant/{component}/v2h_{site}/{key}/config", payload))
    return out
