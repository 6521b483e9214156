"""The easyenergy source: the real client against a local stand-in of easyEnergy's tariff API
(see conftest for how), answering with the recorded prices in its documented format."""

from __future__ import annotations

import json

import pytest

from controller.prices import PriceError
from controller.prices._easyenergy import EasyEnergySource
from tests.prices.conftest import epoch, rows

MAY = rows("nl-2025-05-31-hourly")
DEC = rows("nl-2025-12-16-to-18-quarter")
T_MAY = epoch(MAY[0]["start_utc"])


def tariffs(slots: list[tuple[str, float]]) -> str:
    """getapxtariffs as the client reads it: Timestamp (slot start, UTC offset) and the usage
    and return tariffs, EUR/kWh excl. VAT when asked so."""
    return json.dumps([{"Timestamp": t.replace("Z", "+00:00"), "SupplierId": 0,
                        "TariffUsage": p, "TariffReturn": p} for t, p in slots])


class TestEasyEnergy:
    async def test_easyenergy_hourly_day_excl_vat(self, api):
        """The hourly day comes back hourly, market excl. VAT; the client asked without VAT."""
        api.answer("/nl/api/tariff/getapxtariffs",
                   tariffs([(r["start_utc"], float(r["market_eur_per_kwh"])) for r in MAY]))
        src = EasyEnergySource(session=api.session(), clock=lambda: 7.0)
        m = await src.fetch(T_MAY, T_MAY + 86_400)
        assert (m.start_utc, m.slot_s, m.source, m.fetched_utc) == (T_MAY, 3600, "easyenergy", 7.0)
        assert m.market_eur_kwh == [float(r["market_eur_per_kwh"]) for r in MAY]
        method, path, query, _ = api.seen[0]
        assert (method, path, query["includeVat"]) == ("GET", "/nl/api/tariff/getapxtariffs",
                                                        "false")

    async def test_easyenergy_quarters_by_their_step(self, api):
        """Starts 15 minutes apart make quarters."""
        api.answer("/nl/api/tariff/getapxtariffs",
                   tariffs([(r["start_utc"], float(r["base_eur_per_kwh"])) for r in DEC[:8]]))
        t0 = epoch(DEC[0]["start_utc"])
        m = await EasyEnergySource(session=api.session()).fetch(t0, t0 + 3600)
        assert m.slot_s == 900 and m.market_eur_kwh == [float(r["base_eur_per_kwh"])
                                                        for r in DEC[:4]]

    @pytest.mark.parametrize("status, ctype, body, match", [
        (503, "text/plain", "busy", "communicating with the API"),
        (200, "text/html", "<html/>", "Unexpected content type"),
        (200, "application/json", "[]", "No energy prices found"),
    ])
    async def test_easyenergy_failures_are_price_errors(self, api, status, ctype, body, match):
        """Server errors, wrong content and empty answers: PriceError."""
        api.answer("/nl/api/tariff/getapxtariffs", body, status=status, content_type=ctype)
        with pytest.raises(PriceError, match=match):
            await EasyEnergySource(session=api.session()).fetch(T_MAY, T_MAY + 3600)
