"""Debian's dovecot on loopback: IMAP over TLS only (implicit TLS), the client certificate
required and checked against the test CA, one mailbox (Maildir) the test drops MDNs into.
``scripts/bootstrap.sh`` installs it (``dovecot-imapd``); the tests skip without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.conftest import free_port
from tests.server.transmissions.pki import Pki

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "fam-les-tilleuls"
PASSWORD = "imap-test-password-0123"


def available() -> bool:
    return Path(DOVECOT).exists() and os.geteuid() == 0


class Dovecot:
    def __init__(self, pki: Pki, *, external: bool = False) -> None:
        """``external``: SASL EXTERNAL only (RFC 4422): the client certificate is the login, its
        common name (the applicative mailbox's address) gives the user; no password accepted."""
        self.port = free_port()
        # Dovecot's unprivileged processes must reach these files: not under pytest's 0700 tree.
        self.root = Path(tempfile.mkdtemp(prefix="ppa-dovecot-"))
        self.root.chmod(0o755)
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir(mode=0o755)
        self.maildir = self.root / "mail" / USER / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, mode=0o700)
        shutil.chown(self.root / "mail" / USER, "nobody", "nogroup")
        for path in (self.maildir, *(self.maildir / s for s in ("new", "cur", "tmp"))):
            shutil.chown(path, "nobody", "nogroup")
        if external:
            (self.root / "passwd").write_text(f"{USER}::::::nopassword=y\n")
            auth = (
                "auth_mechanisms = external\n"
                "auth_ssl_username_from_cert = yes\n"
                "ssl_cert_username_field = commonName\n"
                "auth_username_format = %n"  # the certificate's CN is USER@domain
            )
        else:
            (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
            auth = "auth_mechanisms = plain"
        (self.root / "passwd").chmod(0o644)
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = ppa-test-{uuid.uuid4().hex[:8]}
listen = 127.0.0.1
protocols = imap
ssl = required
ssl_cert = <{pki.server_cert}
ssl_key = <{pki.server_key}
ssl_ca = <{pki.ca}
ssl_verify_client_cert = yes
ssl_require_crl = no
ssl_min_protocol = TLSv1.2
auth_ssl_require_client_cert = yes
disable_plaintext_auth = yes
{auth}
log_path = {self.root}/dovecot.log
mail_location = maildir:{self.root}/mail/%u/Maildir
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            import socket

            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dovecot did not start: " + self.log()) from None
                time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def deliver(self, raw: bytes) -> None:
        """Drop a message into the mailbox (as the MSSanté operator's delivery would)."""
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.ppa-test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        shutil.chown(tmp, "nobody", "nogroup")
        tmp.rename(self.maildir / "new" / name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
