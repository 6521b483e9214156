"""Certificates made at test time with the openssl CLI (the TLS tests of MQTT and OCPP)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([shutil.which("openssl") or "openssl", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=30)


def make_ca(d: Path, name: str) -> None:
    """A CA (`name`.key, `name`.crt, P-256, 2 days) in directory d."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_cert(d: Path, name: str, ca: str, usage: str, san: str | None = None) -> None:
    """A leaf certificate `name`.crt/.key signed by CA `ca`, for serverAuth or clientAuth."""
    ext = [f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
           f"extendedKeyUsage={usage}\nsubjectKeyIdentifier=hash\n"
           f"authorityKeyIdentifier=keyid\n"]
    if san:
        ext.append(f"subjectAltName={san}\n")
    (d / f"{name}.ext").write_text("".join(ext))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
             f"{name}.ext", cwd=d)


def make_pki(d: Path) -> Path:
    """In directory d, with the openssl CLI: a CA, a server certificate for 127.0.0.1 and
    localhost, a client certificate of that CA, and a second CA with a client of its own
    (a stranger). Returns d."""
    make_ca(d, "ca")
    make_cert(d, "server", "ca", "serverAuth", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "ca", "clientAuth")
    make_ca(d, "other-ca")
    make_cert(d, "stranger", "other-ca", "clientAuth")
    return d
