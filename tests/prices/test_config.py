"""The [tariff] and [prices] config sections."""

from __future__ import annotations

import pytest

from controller.config import ConfigError, defaults, loads


class TestConfig:
    def test_config_price_defaults(self):
        """No price source by default (self-consumption); the Dutch 2025 tariff."""
        cfg = defaults()
        assert cfg.prices.source == "none" and cfg.prices.entsoe_area == "10YNL----------L"
        t = cfg.tariff
        assert (t.energy_tax_eur_kwh, t.vat_pct, t.supplier_margin_eur_kwh) == (0.10154, 21.0,
                                                                               0.028)
        assert (t.feed_in_fee_eur_kwh, t.feed_in_cost_eur_kwh, t.net_metering) == (0.0, 0.0,
                                                                                  False)

    @pytest.mark.parametrize("text, expected", [
        ('[prices]\nsource = "entsoe"\n', "p.toml:2: prices.source: 'entsoe' needs "
                                          "prices.entsoe_token"),
        ('[prices]\n\nsource = "file"\n', "p.toml:3: prices.source: 'file' needs prices.file"),
        ('[prices]\nsource = "mqtt"\n', "p.toml:2: prices.source: 'mqtt' needs "
                                        "prices.mqtt_topic"),
        ('[prices]\nsource = "nordpool"\n', "p.toml:2: prices.source: Invalid enum value "
                                            "'nordpool'"),
        ('[prices]\nmqtt_topic = "a/#"\n', "p.toml:2: prices.mqtt_topic: Expected `str` "
                                           "matching"),
        ('[prices]\nrefresh_s = 1\n', "p.toml:2: prices.refresh_s: Expected `float` >= 10.0"),
        ('[tariff]\nvat_pct = 121\n', "p.toml:2: tariff.vat_pct: Expected `float` <= 50.0"),
        ('[tariff]\nvat = 21\n', "p.toml:2: tariff.vat: unknown key"),
    ])
    def test_config_price_errors_name_file_line_key(self, text, expected):
        """Every problem in the new sections reads FILE:LINE: key.path: message."""
        with pytest.raises(ConfigError) as err:
            loads(text, "p.toml")
        assert str(err.value).startswith(expected)

    def test_config_price_source_with_its_key_is_valid(self):
        """A source with what it needs validates; --set works on the new keys."""
        cfg = loads('[prices]\nsource = "entsoe"\nentsoe_token = "abc"\n', "p.toml",
                    ("tariff.net_metering=true", "prices.refresh_s=900"))
        assert cfg.prices.entsoe_token == "abc" and cfg.tariff.net_metering
        assert cfg.prices.refresh_s == 900.0
