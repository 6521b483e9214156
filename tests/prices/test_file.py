"""The file source and the CSV / JSON formats it shares with MQTT and the recordings."""

from __future__ import annotations

import json

import pytest

from controller.prices import RECORDED, PriceError, recorded
from controller.prices._file import FileSource
from controller.prices._payload import parse_csv, parse_json
from tests.prices.conftest import DATA, epoch

T0 = epoch("2025-05-30T22:00:00Z")
HEADER = "start_utc,end_utc,market_eur_per_kwh\n"


def message(**kw) -> bytes:
    body = {"start_utc": T0, "end_utc": T0 + 3 * 900, "market_eur_kwh": [0.1, -0.01, 0.2]}
    body.update(kw)
    return json.dumps(body).encode()


class TestCsv:
    def test_csv_recorded_files_load(self):
        """Both recordings load: 24 hourly slots, 288 quarters, midday below zero in May."""
        may = recorded("nl-2025-05-31-hourly")
        assert (may.slot_s, len(may.market_eur_kwh), may.start_utc) == (3600, 24, T0)
        assert min(may.market_eur_kwh) == pytest.approx(-0.01317)
        assert all(p < 0 for p in may.market_eur_kwh[10:17])  # 08:00 to 14:00 UTC
        dec = recorded("nl-2025-12-16-to-18-quarter")
        assert (dec.slot_s, len(dec.market_eur_kwh)) == (900, 288)
        assert dec.market_eur_kwh[0] == pytest.approx(0.07994)  # base, not all_in
        assert set(RECORDED) == {p.stem for p in DATA.glob("*.csv")}

    def test_csv_unknown_recording_is_a_keyerror(self):
        """A name that is not shipped says which are."""
        with pytest.raises(KeyError, match="nl-2025-05-31-hourly"):
            recorded("nl-1999")

    def test_csv_epoch_times_and_extra_columns(self):
        """Times may be epoch seconds; other columns are ignored."""
        m = parse_csv(f"start_utc,end_utc,market_eur_per_kwh,note\n{T0},{T0 + 900},0.5,x\n",
                      source="t", fetched_utc=1.0)
        assert (m.start_utc, m.slot_s, m.market_eur_kwh) == (T0, 900, [0.5])

    @pytest.mark.parametrize("body, match", [
        ("2025-05-30T22:00:00Z,2025-05-30T23:00:00Z,nan\n", "line 2: price 'nan'"),
        ("2025-05-30T22:00:00Z,2025-05-30T23:00:00Z,abc\n", "line 2: could not convert"),
        ("2025-05-30T22:00:00,2025-05-30T23:00:00,0.1\n", "line 2: time .* no UTC offset"),
        ("2025-05-30T22:00:00Z,2025-05-30T23:00:00Z,0.1\n"
         "2025-05-31T00:00:00Z,2025-05-31T01:00:00Z,0.1\n", "line 3: starts at"),
        ("2025-05-30T22:00:00Z,2025-05-30T23:00:00Z,0.1\n"
         "2025-05-30T23:00:00Z,2025-05-30T23:15:00Z,0.1\n", "line 3: slot of 900 s"),
        ("", "no prices"),
    ])
    def test_csv_bad_rows_named_by_line(self, body, match):
        """NaN, text, naive times, gaps, mixed slots, nothing: PriceError with the line."""
        with pytest.raises(PriceError, match=match):
            parse_csv(HEADER + body, source="t", fetched_utc=0)

    def test_csv_without_a_price_column(self):
        """The header must name the times and a market price column."""
        with pytest.raises(PriceError, match="line 1: expected columns"):
            parse_csv("start_utc,end_utc,all_in_eur_per_kwh\n", source="t", fetched_utc=0)


class TestJson:
    def test_json_message_decodes(self):
        """start_utc, end_utc, market_eur_kwh; slot_s defaults to 900."""
        m = parse_json(message(), source="t", fetched_utc=2.0)
        assert (m.start_utc, m.slot_s, m.market_eur_kwh) == (T0, 900, [0.1, -0.01, 0.2])
        assert m.fetched_utc == 2.0

    @pytest.mark.parametrize("data, match", [
        (b"{not json", "invalid price message"),
        (b'{"start_utc": 0, "end_utc": 900, "market_eur_kwh": [NaN]}', "invalid price message"),
        (b'{"start_utc": 0, "end_utc": 900, "market_eur_kwh": [1e400]}', "out of range"),
        (message(market_eur_kwh=[0.1, 20.0, 0.2]), "price 1 is not a plausible"),
        (message(market_eur_kwh=[0.1, 0.2]), "2 prices of 900 s do not fill"),
        (message(market_eur_kwh=[0.1, None, 0.2]), "invalid price message"),
        (message(extra=1), "unknown field"),
        (message(slot_s=0), "invalid start_utc, end_utc or slot_s"),
        (message(start_utc=T0 + 1, end_utc=T0 + 2701), "15-minute boundary"),
        (b"[]", "invalid price message"),
    ])
    def test_json_bad_payload_rejected(self, data, match):
        """Invalid JSON, NaN, overflow, absurd values, wrong length, nulls, unknown keys,
        off-grid start: a clear error."""
        with pytest.raises(PriceError, match=match):
            parse_json(data, source="t", fetched_utc=0)


class TestFileSource:
    async def test_file_source_reads_csv_and_clips(self, tmp_path):
        """The file is read at each fetch and cut to the period asked for."""
        path = tmp_path / "prices.csv"
        path.write_text((DATA / "nl-2025-05-31-hourly.csv").read_text())
        src = FileSource(path, clock=lambda: 123.0)
        m = await src.fetch(T0 + 3600, T0 + 3 * 3600)
        assert (m.start_utc, m.market_eur_kwh, m.fetched_utc) == (T0 + 3600, [0.0977, 0.09481],
                                                                  123.0)
        path.write_text(HEADER + "2025-05-30T23:00:00Z,2025-05-31T00:00:00Z,0.5\n")
        assert (await src.fetch(T0, T0 + 86_400)).market_eur_kwh == [0.5]

    async def test_file_source_reads_json(self, tmp_path):
        """A .json file holds one price message."""
        path = tmp_path / "prices.json"
        path.write_bytes(message())
        m = await FileSource(path).fetch(T0, T0 + 86_400)
        assert m.market_eur_kwh == [0.1, -0.01, 0.2] and m.source == f"file {path}"

    async def test_file_source_missing_or_binary_file(self, tmp_path):
        """A missing file is an OSError, a binary one a PriceError; neither is swallowed."""
        with pytest.raises(FileNotFoundError):
            await FileSource(tmp_path / "none.csv").fetch(T0, T0 + 900)
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00")
        with pytest.raises(PriceError, match="UTF-8"):
            await FileSource(tmp_path / "bin.csv").fetch(T0, T0 + 900)
