"""The entsoe source: our request against a local stand-in of the transparency platform (see
conftest), answering an A44 document written from its published format with the recorded
December prices, read by entsoe-py's parser."""

from __future__ import annotations

import pytest

from controller.prices import PriceError
from controller.prices._entsoe import EntsoeSource
from tests.prices.conftest import epoch, rows

DEC = rows("nl-2025-12-16-to-18-quarter")
DAY = DEC[:96]  # the Dutch day 2025-12-16, 23:00Z to 23:00Z
T0 = epoch(DAY[0]["start_utc"])
URL = "https://web-api.tp.entsoe.eu/api"


def a44(*periods: str) -> str:
    """A Publication_MarketDocument (A44) with one TimeSeries per period."""
    series = "".join(f"""
  <TimeSeries>
    <mRID>{i + 1}</mRID>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">10YNL----------L</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">10YNL----------L</out_Domain.mRID>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
    {p}
  </TimeSeries>""" for i, p in enumerate(periods))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>test</mRID>
  <type>A44</type>
  <period.timeInterval><start>2025-12-15T23:00Z</start><end>2025-12-16T23:00Z</end>
  </period.timeInterval>{series}
</Publication_MarketDocument>"""


def period(start: str, end: str, resolution: str, points: list[tuple[int, float]]) -> str:
    pts = "".join(f"<Point><position>{n}</position><price.amount>{v}</price.amount></Point>"
                  for n, v in points)
    return (f"<Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval>"
            f"<resolution>{resolution}</resolution>{pts}</Period>")


def quarter_day(skip: int | None = None) -> str:
    """The recorded day in EUR/MWh; with A03, a skipped position repeats the one before."""
    pts = [(i + 1, round(float(r["base_eur_per_kwh"]) * 1000, 2)) for i, r in enumerate(DAY)
           if i != skip]
    return period("2025-12-15T23:00Z", "2025-12-16T23:00Z", "PT15M", pts)


class TestEntsoe:
    async def test_entsoe_a44_quarters_in_eur_per_kwh(self, api):
        """EUR/MWh becomes EUR/kWh; the request names A44, the zone and the token."""
        api.answer("/api", a44(quarter_day()), content_type="text/xml")
        src = EntsoeSource("tok", "10YNL----------L", session=api.session(), url=URL,
                           clock=lambda: 9.0)
        m = await src.fetch(T0, T0 + 86_400)
        assert (m.start_utc, m.slot_s, m.source, m.fetched_utc) == (T0, 900, "entsoe", 9.0)
        assert m.market_eur_kwh == pytest.approx([float(r["base_eur_per_kwh"]) for r in DAY])
        _, path, q, _ = api.seen[0]
        assert path == "/api" and q["documentType"] == "A44" and q["securityToken"] == "tok"
        assert q["in_Domain"] == q["out_Domain"] == "10YNL----------L"
        assert q["periodStart"] == "202512152200" and q["periodEnd"] == "202512170000"

    async def test_entsoe_a03_missing_position_repeats(self, api):
        """A03 curve: a position left out holds the price of the one before."""
        api.answer("/api", a44(quarter_day(skip=2)), content_type="text/xml")
        src = EntsoeSource("tok", "10YNL----------L", session=api.session(), url=URL)
        m = await src.fetch(T0, T0 + 3600)
        b = [float(r["base_eur_per_kwh"]) for r in DAY[:4]]
        assert m.market_eur_kwh == pytest.approx([b[0], b[1], b[1], b[3]])

    async def test_entsoe_finest_resolution_wins(self, api):
        """Hourly and quarter series for one day: quarters where there are, hours elsewhere."""
        hours = period("2025-12-15T23:00Z", "2025-12-17T23:00Z", "PT60M",
                       [(n, 50.0) for n in range(1, 49)])
        api.answer("/api", a44(hours, quarter_day()), content_type="text/xml")
        src = EntsoeSource("tok", "10YNL----------L", session=api.session(), url=URL)
        m = await src.fetch(T0, T0 + 2 * 86_400)
        assert len(m.market_eur_kwh) == 192 and m.slot_s == 900
        assert m.market_eur_kwh[0] == pytest.approx(float(DAY[0]["base_eur_per_kwh"]))
        assert m.market_eur_kwh[96:] == pytest.approx([0.05] * 96)

    @pytest.mark.parametrize("status, body, match", [
        (200, "<Acknowledgement_MarketDocument><Reason><code>999</code><text>No matching data "
              "found for Data item Day-ahead Prices</text></Reason>"
              "</Acknowledgement_MarketDocument>", "No matching data found"),
        (401, "<html><body>Unauthorized</body></html>", "HTTP 401"),
        (200, "<Publication_MarketDocument/>", "no prices in the requested period"),
    ])
    async def test_entsoe_failures_are_price_errors(self, api, status, body, match):
        """An acknowledgement with a reason, a refused token, an empty document: PriceError."""
        api.answer("/api", body, status=status, content_type="text/xml")
        src = EntsoeSource("tok", "10YNL----------L", session=api.session(), url=URL)
        with pytest.raises(PriceError, match=match):
            await src.fetch(T0, T0 + 3600)
