"""The energyzero source: the real client against a local stand-in of EnergyZero's GraphQL API
(see conftest for how), answering with the recorded prices in the documented format."""

from __future__ import annotations

import json

import pytest

from controller.prices import PriceError
from controller.prices._energyzero import EnergyZeroSource
from tests.prices.conftest import epoch, rows

DEC = rows("nl-2025-12-16-to-18-quarter")
MAY = rows("nl-2025-05-31-hourly")
T_DEC = epoch(DEC[4]["start_utc"])  # 2025-12-16T00:00Z


def graphql(slots: list[tuple[str, str, float]]) -> str:
    """An energyMarketPrices answer as the client reads it: one block per slot with
    energyPriceExcl/Incl (market, EUR/kWh) and additionalCosts (energy tax, purchasing cost)."""
    prices = [{"from": a, "till": b, "energyPriceExcl": p, "energyPriceIncl": round(p * 1.21, 7),
               "isAverage": False, "type": "Electricity", "vat": 21,
               "additionalCosts": [{"name": "Energiebelasting", "priceExcl": 0.10154,
                                    "priceIncl": 0.1228634}]} for a, b, p in slots]
    avg = sum(p for *_, p in slots) / max(1, len(slots))
    return json.dumps({"data": {"energyMarketPrices": {
        "averageExcl": avg, "averageIncl": avg * 1.21, "prices": prices}}})


class TestEnergyZero:
    async def test_energyzero_quarters_market_excl_vat(self, api):
        """15-minute answers come back as quarters with the market price excl. VAT (not the
        all-in price), cut to the period asked for."""
        api.answer("/v1/gql", graphql([(r["start_utc"], r["end_utc"],
                                        float(r["base_eur_per_kwh"])) for r in DEC[:16]]))
        src = EnergyZeroSource(session=api.session(), clock=lambda: 42.0)
        m = await src.fetch(T_DEC, T_DEC + 2 * 3600)
        assert (m.start_utc, m.slot_s, m.source, m.fetched_utc) == (T_DEC, 900, "energyzero", 42.0)
        assert m.market_eur_kwh == [float(r["base_eur_per_kwh"]) for r in DEC[4:12]]
        method, path, _, body = api.seen[0]
        assert (method, path) == ("POST", "/v1/gql")
        assert json.loads(body)["variables"]["input"]["type"] == "Electricity"

    async def test_energyzero_hourly_answer_kept_hourly(self, api):
        """An hourly answer (before 2025-10) stays hourly here; apply_tariff expands it."""
        api.answer("/v1/gql", graphql([(r["start_utc"], r["end_utc"],
                                        float(r["market_eur_per_kwh"])) for r in MAY]))
        t0 = epoch(MAY[0]["start_utc"])
        m = await EnergyZeroSource(session=api.session()).fetch(t0, t0 + 86_400)
        assert m.slot_s == 3600 and len(m.market_eur_kwh) == 24
        assert m.market_eur_kwh[13] == pytest.approx(-0.01317)

    @pytest.mark.parametrize("status, ctype, body, match", [
        (500, "text/plain", "down", "communicating with the API"),
        (200, "text/html", "<html>maintenance</html>", "Unexpected content type"),
        (200, "application/json", '{"errors": [{"message": "bad input"}]}', "bad input"),
        (200, "application/json", graphql([]), "no prices in the requested period"),
    ])
    async def test_energyzero_failures_are_price_errors(self, api, status, ctype, body, match):
        """Server errors, wrong content, API errors and empty answers: PriceError."""
        api.answer("/v1/gql", body, status=status, content_type=ctype)
        with pytest.raises(PriceError, match=match):
            await EnergyZeroSource(session=api.session()).fetch(T_DEC, T_DEC + 3600)

    async def test_energyzero_absurd_price_rejected(self, api):
        """A price of a million EUR/kWh is no price: refused, with its position."""
        api.answer("/v1/gql", graphql([(DEC[4]["start_utc"], DEC[4]["end_utc"], 1e6)]))
        with pytest.raises(PriceError, match="price 0 is not a plausible"):
            await EnergyZeroSource(session=api.session()).fetch(T_DEC, T_DEC + 3600)
