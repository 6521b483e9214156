"""The printable statement (controller/ledger/_statement.py) in a real browser: headless
Chromium over the DevTools protocol opens it without a console error, shows the figures and
prints it to PDF. Chromium is a Debian package the Makefile's sysdeps install; under CI=true
a missing one fails the test."""

from __future__ import annotations

from controller import cli
from tests.ledger.chromium import open_page
from tests.ledger.test_settle import DOUBLE_ROWS

FIGURES = {
    "title": "document.title",
    "net": "document.getElementById('net').textContent",
    "days": "document.querySelectorAll('#days tr').length",
    "missing": "document.getElementById('missing').rows[2].cells[1].textContent",
}


async def test_statement_opens_in_chromium_without_console_errors(ledger_of, tmp_path,
                                                                  capsys):
    """`v2h report --html` for a double-tariff month with a lease: no console error,
    exception or failed load; the net amount, three days and the missing minutes render,
    and it prints to a PDF."""
    path = ledger_of(DOUBLE_ROWS)
    cfg = tmp_path / "v2h.toml"
    cfg.write_text('[tariff]\ncontract = "double"\nnormal_eur_kwh = 0.13\nlow_eur_kwh = 0.10\n'
                   f'net_metering = true\n[ledger]\npath = "{path}"\n'
                   '[lease]\ncar = "Kia EV6 <Plus> & co"\nplate = "AB-123-C"\n'
                   'driver = "J. de Vries"\nemployer = "Acme B.V."\n')
    html = tmp_path / "statement-2026-10.html"
    assert cli.main(["report", "--month", "2026-10", "--config", str(cfg),
                     "--html", str(html)]) == 0
    assert capsys.readouterr().out == f"statement: {html}\n"
    page = await open_page(html.as_uri(), FIGURES)
    assert page.problems == [] and page.warnings == [], (page.problems, page.warnings)
    assert page.values["title"] == "Home charging statement 2026-10 AB-123-C"
    low, normal = (0.10 + 0.10154) * 1.21, (0.13 + 0.10154) * 1.21
    assert page.values["net"] == f"€\xa0{2 * low + normal + 0.15 - 0.5 * low:,.2f}"
    assert page.values["days"] == 1 + 3  # the header and three days with records
    assert page.values["missing"] == f"{745 * 60 - 5:,}"
    assert page.pdf.startswith(b"%PDF-") and b"/Type /Page" in page.pdf


async def test_console_check_catches_errors(tmp_path):
    """The check is not blind: a page with a console.error, an uncaught exception and a
    missing image yields all three."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset=utf-8><title>bad</title>'
                   '<link rel=icon href="data:,"></head><body><img src="missing.png">'
                   '<script>console.error("boom"); notDefined();</script></body></html>')
    page = await open_page(bad.as_uri())
    text = "\n".join(page.problems)
    assert len(page.problems) == 3, page.problems
    assert "console.error: boom" in text and "notDefined is not defined" in text
    assert "missing.png" in text


def test_missing_chromium_fails(tmp_path, monkeypatch):
    """Without chromium on the PATH the statement's test fails, never skips (CI or not)."""
    import pytest

    from tests.ledger.chromium import chromium

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        chromium()
