"""Sending with smtplib: plain, STARTTLS or implicit TLS, AUTH when a username is set.

Failures are sorted into TransientDeliveryError (retry later: refused, timeout, 4xx)
and PermanentDeliveryError (5xx: the server will not take it).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.utils import parseaddr
from pathlib import Path

from monitor.errors import PermanentDeliveryError, TransientDeliveryError


def make_tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Certificates and host names checked; against `ca_file` when given, else the system's CAs."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:  # a configuration mistake: fix it and the retry succeeds
        raise TransientDeliveryError(f"cannot read the CA file {ca_file}: {exc}") from exc


def send(
    message: bytes,
    *,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    sender: str,
    recipients: list[str],
    timeout: float,
    tls_context: ssl.SSLContext | None = None,
) -> str:
    """Hand `message` to the server; returns the server's reply. Raises a DeliveryError."""
    context = tls_context or make_tls_context()
    envelope_from = parseaddr(sender)[1] or sender
    try:
        if security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if username:
                client.login(username, password)
            refused = client.sendmail(envelope_from, recipients, message)
            if refused:
                raise PermanentDeliveryError(f"recipients refused: {refused}")
            return f"accepted by {host}:{port}"
    except smtplib.SMTPResponseException as exc:
        reply = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentDeliveryError(f"{host}:{port} refused: {reply}") from exc
        raise TransientDeliveryError(f"{host}:{port} deferred: {reply}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"{host}:{port} refused every recipient: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise TransientDeliveryError(f"{host}:{port}: {exc.__class__.__name__}: {exc}") from exc
